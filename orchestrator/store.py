"""The job store interface: jobs, their runs, and every run's result.

The store is the source of truth for what was submitted; the broker only carries work. Results
are recorded idempotently by run id. Implementations: ``orchestrator/stores/sql.py``
(SQLite or PostgreSQL through SQLAlchemy) and ``orchestrator/stores/memory.py`` (tests).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from orchestrator.wire import JobSpec, RunResult, RunSpec, RunStatus
from orchestrator.wire.base import WireModel


class RunRecord(WireModel):
    """A run as the store knows it."""

    spec: RunSpec
    status: RunStatus
    queue: str
    result: RunResult | None = None
    created_at: datetime
    updated_at: datetime

    @property
    def run_id(self) -> str:
        return self.spec.run_id


@runtime_checkable
class JobStore(Protocol):
    def add_job(self, job: JobSpec, runs: list[tuple[RunSpec, str]]) -> None:
        """Save a job and its runs (each with the queue it is routed to), all ``queued``."""
        ...

    def get_job(self, job_id: str) -> JobSpec:
        """The job; raises ``UsageError`` naming the id when it does not exist."""
        ...

    def list_jobs(self, limit: int = 50) -> list[JobSpec]:
        """Newest first."""
        ...

    def list_runs(self, job_id: str) -> list[RunRecord]: ...

    def get_run(self, run_id: str) -> RunRecord | None: ...

    def mark_running(self, run_id: str, device_udid: str) -> bool:
        """Move a queued run to running; False if the run is unknown, cancelled or finished."""
        ...

    def record_result(self, result: RunResult) -> bool:
        """Record a final result once. Returns False (and changes nothing) when the run is
        unknown, cancelled, or already has a final result: duplicate delivery is harmless."""
        ...

    def cancel_job(self, job_id: str) -> int:
        """Cancel every unfinished run of a job; returns how many were cancelled."""
        ...
