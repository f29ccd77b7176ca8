"""Job store implementations: SQL (SQLite, PostgreSQL) and in-memory."""

from __future__ import annotations

from orchestrator.store import JobStore


def open_store(url: str) -> JobStore:
    """Open the job store at a SQLAlchemy URL (``sqlite:///…``, ``postgresql://…``)."""
    from orchestrator.stores.sql import SqlJobStore

    return SqlJobStore(url)
