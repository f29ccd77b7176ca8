"""The job store interface: jobs, their runs, every run's result, and the device registry.

The store is the source of truth for what was submitted; the broker only carries work, and a
reconciler re-enqueues from here whatever the broker lost. Results are recorded idempotently by
(run id, attempt). Implementations: ``orchestrator/stores/sql.py`` (SQLite or PostgreSQL through
SQLAlchemy, migrated by Alembic) and ``orchestrator/stores/memory.py`` (tests).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from pomar_core.wire import (
    DeviceInfo,
    DeviceState,
    JobSpec,
    Localisation,
    RunResult,
    RunSpec,
    RunStatus,
)
from pomar_core.wire.base import WireModel


class RunRecord(WireModel):
    """A run as the store knows it. ``spec.attempt`` is the attempt in flight."""

    spec: RunSpec
    status: RunStatus
    queue: str
    result: RunResult | None = None
    created_at: datetime
    updated_at: datetime
    device_udid: str | None = None
    """The device running it (or that ran it)."""
    detail: str | None = None
    """Why a queued run is not moving (``waiting for a live device in pool …``), or why an
    earlier attempt was retried."""
    deadline_at: datetime | None = None
    """A queued run nobody has picked up by then fails with ``timeout``."""

    @property
    def run_id(self) -> str:
        return self.spec.run_id

    @property
    def attempt(self) -> int:
        return self.spec.attempt


class RunState(WireModel):
    """What the reconciler checks of an unfinished run every tick: its columns, not its spec,
    so that thousands of runs in flight cost one narrow query rather than thousands of parses."""

    run_id: str
    job_id: str
    status: RunStatus
    attempt: int
    queue: str
    device_udid: str | None = None
    updated_at: datetime


class DeviceRecord(WireModel):
    """A device the farm has seen: what it is, and how it was when last heard of."""

    info: DeviceInfo
    state: DeviceState
    current_run: str | None = None
    first_seen: datetime
    last_seen: datetime


class Schedule(WireModel):
    """A named matrix (models × pools × compute units) fired by a cron expression."""

    name: str
    cron: str
    models: tuple[str, ...]
    pools: tuple[str, ...]
    compute_units: tuple[str, ...]
    created_at: datetime
    last_fired_at: datetime | None = None
    timezone: str = "UTC"
    """The zone the cron expression is read in."""
    plan: str | None = None
    """A farm-file schedule (``orchestrator.farmfile.SweepPlan`` as JSON); None for one made
    with ``pomar schedule add``."""


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

    def get_runs(self, run_ids: Collection[str]) -> list[RunRecord]:
        """The runs of those ids that exist, oldest first."""
        ...

    def unfinished_runs(self, queues: Collection[str] | None = None) -> list[RunRecord]:
        """Every queued or running run (only those routed to ``queues``, if given), oldest
        first."""
        ...

    def unfinished_states(self, queues: Collection[str] | None = None) -> list[RunState]:
        """Every queued or running run's state (only those routed to ``queues``, if given),
        oldest first: what the reconciler watches, and fairness counts."""
        ...

    def mark_running(self, run_id: str, device_udid: str, attempt: int | None = None) -> bool:
        """Move a queued run to running; False if the run is unknown, cancelled, finished, or
        ``attempt`` is given and is not the attempt in flight."""
        ...

    def record_result(self, result: RunResult) -> bool:
        """Record a final result once. Returns False (and changes nothing) when the run is
        unknown, cancelled, already final, or the result is of an earlier attempt."""
        ...

    def attach_localisation(self, run_id: str, localisation: Localisation) -> bool:
        """Set the localisation on a finished run's result, leaving the rest of the result as
        it was; False when the run is unknown or has no result."""
        ...

    def requeue(self, spec: RunSpec, queue: str, detail: str | None = None) -> bool:
        """Put an unfinished run back to ``queued`` as ``spec`` (the next attempt, so
        ``spec.attempt`` is one more than the attempt in flight); False if it moved meanwhile."""
        ...

    def set_waiting(self, run_id: str, detail: str | None, deadline_at: datetime | None) -> bool:
        """Say why a queued run is not moving, and until when it may wait."""
        ...

    def cancel_job(self, job_id: str) -> int:
        """Cancel every unfinished run of a job; returns how many were cancelled."""
        ...

    def save_device(self, device: DeviceRecord) -> None:
        """Insert or update a device by udid (``first_seen`` of an existing row is kept)."""
        ...

    def save_devices(self, devices: Sequence[DeviceRecord]) -> None:
        """``save_device`` for each, in one transaction."""
        ...

    def list_devices(self) -> list[DeviceRecord]:
        """Every device ever seen, by udid."""
        ...

    def save_schedule(self, schedule: Schedule) -> None: ...

    def list_schedules(self) -> list[Schedule]: ...

    def delete_schedule(self, name: str) -> bool: ...

    def mark_fired(self, name: str, at: datetime) -> None: ...
