"""The API's two tables (migration ``0003``): hashed tokens, and submissions by idempotency key.

They live beside the job store's tables, in the same database, on the job store's engine.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from orchestrator.store import JobStore
from pomar_core.errors import UsageError


class Base(DeclarativeBase):
    pass


class TokenRow(Base):
    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SubmissionRow(Base):
    __tablename__ = "api_submissions"
    __table_args__ = (
        UniqueConstraint("token_id", "idempotency_key", name="uq_api_submissions_key"),
    )

    submission_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(32))
    request_json: Mapped[str] = mapped_column(Text)
    job_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    preflight_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def engine_of(store: JobStore) -> Engine:
    """The SQL engine under a job store: the API keeps its tables in the same database."""
    engine = getattr(store, "engine", None)
    if not isinstance(engine, Engine):
        raise UsageError(
            "the API needs an SQL job store (SQLite or PostgreSQL)",
            hint="set POMAR_STORE_URL to a postgresql:// or sqlite:/// URL",
        )
    return engine
