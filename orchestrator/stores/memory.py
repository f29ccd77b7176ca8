"""An in-memory job store with the same semantics as the SQL one, for tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from orchestrator.errors import UsageError
from orchestrator.store import RunRecord
from orchestrator.wire import JobSpec, RunResult, RunSpec, RunStatus


class MemoryJobStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[JobSpec, datetime]] = {}
        self._runs: dict[str, RunRecord] = {}

    def add_job(self, job: JobSpec, runs: list[tuple[RunSpec, str]]) -> None:
        now = datetime.now(UTC)
        with self._lock:
            self._jobs[job.job_id] = (job, now)
            for spec, queue in runs:
                self._runs[spec.run_id] = RunRecord(
                    spec=spec, status=RunStatus.QUEUED, queue=queue, created_at=now, updated_at=now
                )

    def get_job(self, job_id: str) -> JobSpec:
        with self._lock:
            if job_id not in self._jobs:
                raise UsageError(
                    f"no job '{job_id}' in the store", hint="list jobs with `pomar status`"
                )
            return self._jobs[job_id][0]

    def list_jobs(self, limit: int = 50) -> list[JobSpec]:
        with self._lock:
            ordered = sorted(self._jobs.values(), key=lambda jt: jt[1], reverse=True)
            return [job for job, _ in ordered[:limit]]

    def list_runs(self, job_id: str) -> list[RunRecord]:
        with self._lock:
            return sorted(
                (r for r in self._runs.values() if r.spec.job_id == job_id), key=lambda r: r.run_id
            )

    def get_run(self, run_id: str) -> RunRecord | None:
        with self._lock:
            return self._runs.get(run_id)

    def mark_running(self, run_id: str, device_udid: str) -> bool:
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is None or rec.status is not RunStatus.QUEUED:
                return False
            self._runs[run_id] = rec.model_copy(
                update={"status": RunStatus.RUNNING, "updated_at": datetime.now(UTC)}
            )
            return True

    def record_result(self, result: RunResult) -> bool:
        with self._lock:
            rec = self._runs.get(result.run_id)
            if rec is None or rec.status.finished:
                return False
            self._runs[result.run_id] = rec.model_copy(
                update={"status": result.status, "result": result, "updated_at": datetime.now(UTC)}
            )
            return True

    def cancel_job(self, job_id: str) -> int:
        with self._lock:
            n = 0
            for run_id, rec in list(self._runs.items()):
                if rec.spec.job_id == job_id and not rec.status.finished:
                    self._runs[run_id] = rec.model_copy(update={"status": RunStatus.CANCELLED})
                    n += 1
            return n
