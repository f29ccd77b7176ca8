"""Job store implementations: SQL (SQLite, PostgreSQL) and in-memory."""

from __future__ import annotations

from orchestrator.store import JobStore


def open_store(url: str) -> JobStore:
    """Open the job store at a SQLAlchemy URL (``sqlite:///…``, ``postgresql://…``).

    SQLite is migrated on open; PostgreSQL must have been migrated by ``pomar coordinator``.
    """
    from orchestrator.stores.sql import SqlJobStore

    return SqlJobStore(url)


def migrate_store(url: str) -> None:
    """Apply pending schema migrations to the store at ``url``."""
    from orchestrator.stores.sql import migrate

    migrate(url)
