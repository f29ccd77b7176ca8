"""Alembic migrations of the job store, and the functions that apply them.

Revision ``0001`` is exactly the schema that ``create_all`` made before migrations existed, so
a store created by an older Pomar is stamped at ``0001`` and upgraded from there: an upgrade
never drops or rewrites history.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

HERE = Path(__file__).parent
BASELINE = "0001"


def _config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["engine"] = engine
    return cfg


def head() -> str:
    """The newest revision this Pomar knows."""
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(engine: Engine) -> str | None:
    """The revision the database is at; None for an empty or pre-migration database."""
    with engine.connect() as conn:
        rev = MigrationContext.configure(conn).get_current_revision()
        return None if rev is None else str(rev)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``; a pre-migration store is adopted at the baseline."""
    cfg = _config(engine)
    if current(engine) is None and inspect(engine).has_table("jobs"):
        command.stamp(cfg, BASELINE)
    command.upgrade(cfg, revision)
