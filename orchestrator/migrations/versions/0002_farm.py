"""The farm: why a run waits and until when, the device registry, and schedules."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("detail", sa.Text, nullable=True))
        batch.add_column(sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "devices",
        sa.Column("udid", sa.String(200), primary_key=True),
        sa.Column("info_json", sa.Text, nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("current_run", sa.String(64), nullable=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "schedules",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("cron", sa.String(100), nullable=False),
        sa.Column("matrix_json", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_fired_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("schedules")
    op.drop_table("devices")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("deadline_at")
        batch.drop_column("detail")
