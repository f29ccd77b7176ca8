"""An in-memory job store with the same semantics as the SQL one, for tests."""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from orchestrator.store import DeviceRecord, RunRecord, RunState, Schedule
from pomar_core.errors import UsageError
from pomar_core.wire import JobSpec, Localisation, RunResult, RunSpec, RunStatus


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryJobStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[JobSpec, datetime]] = {}
        self._runs: dict[str, RunRecord] = {}
        self._devices: dict[str, DeviceRecord] = {}
        self._schedules: dict[str, Schedule] = {}

    def add_job(self, job: JobSpec, runs: list[tuple[RunSpec, str]]) -> None:
        now = _now()
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

    def get_runs(self, run_ids: Collection[str]) -> list[RunRecord]:
        with self._lock:
            found = (self._runs[i] for i in set(run_ids) if i in self._runs)
            return sorted(found, key=lambda r: (r.created_at, r.run_id))

    def unfinished_runs(self, queues: Collection[str] | None = None) -> list[RunRecord]:
        return self._unfinished(queues)

    def _unfinished(self, queues: Collection[str] | None) -> list[RunRecord]:
        with self._lock:
            return sorted(
                (
                    r
                    for r in self._runs.values()
                    if not r.status.finished and (queues is None or r.queue in queues)
                ),
                key=lambda r: (r.created_at, r.run_id),
            )

    def unfinished_states(self, queues: Collection[str] | None = None) -> list[RunState]:
        return [
            RunState(
                run_id=r.run_id,
                job_id=r.spec.job_id,
                status=r.status,
                attempt=r.attempt,
                queue=r.queue,
                device_udid=r.device_udid,
                updated_at=r.updated_at,
            )
            for r in self._unfinished(queues)
        ]

    def mark_running(self, run_id: str, device_udid: str, attempt: int | None = None) -> bool:
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is None or rec.status is not RunStatus.QUEUED:
                return False
            if attempt is not None and attempt != rec.attempt:
                return False
            self._runs[run_id] = rec.model_copy(
                update={
                    "status": RunStatus.RUNNING,
                    "device_udid": device_udid,
                    "updated_at": _now(),
                }
            )
            return True

    def record_result(self, result: RunResult) -> bool:
        with self._lock:
            rec = self._runs.get(result.run_id)
            if rec is None or rec.status.finished or rec.attempt != result.attempt:
                return False
            self._runs[result.run_id] = rec.model_copy(
                update={
                    "status": result.status,
                    "result": result,
                    "device_udid": result.device.udid,
                    "updated_at": _now(),
                }
            )
            return True

    def attach_localisation(self, run_id: str, localisation: Localisation) -> bool:
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is None or rec.result is None:
                return False
            result = rec.result.model_copy(update={"localisation": localisation})
            self._runs[run_id] = rec.model_copy(update={"result": result})
            return True

    def requeue(self, spec: RunSpec, queue: str, detail: str | None = None) -> bool:
        with self._lock:
            rec = self._runs.get(spec.run_id)
            if rec is None or rec.status.finished or rec.attempt != spec.attempt - 1:
                return False
            self._runs[spec.run_id] = rec.model_copy(
                update={
                    "spec": spec,
                    "status": RunStatus.QUEUED,
                    "queue": queue,
                    "device_udid": None,
                    "detail": detail,
                    "updated_at": _now(),
                }
            )
            return True

    def set_waiting(self, run_id: str, detail: str | None, deadline_at: datetime | None) -> bool:
        with self._lock:
            rec = self._runs.get(run_id)
            if rec is None or rec.status is not RunStatus.QUEUED:
                return False
            self._runs[run_id] = rec.model_copy(
                update={"detail": detail, "deadline_at": deadline_at}
            )
            return True

    def cancel_job(self, job_id: str) -> int:
        with self._lock:
            n = 0
            for run_id, rec in list(self._runs.items()):
                if rec.spec.job_id == job_id and not rec.status.finished:
                    self._runs[run_id] = rec.model_copy(
                        update={"status": RunStatus.CANCELLED, "updated_at": _now()}
                    )
                    n += 1
            return n

    def save_device(self, device: DeviceRecord) -> None:
        with self._lock:
            old = self._devices.get(device.info.udid)
            if old is not None:
                device = device.model_copy(update={"first_seen": old.first_seen})
            self._devices[device.info.udid] = device

    def save_devices(self, devices: Sequence[DeviceRecord]) -> None:
        for device in devices:
            self.save_device(device)

    def list_devices(self) -> list[DeviceRecord]:
        with self._lock:
            return [self._devices[k] for k in sorted(self._devices)]

    def save_schedule(self, schedule: Schedule) -> None:
        with self._lock:
            old = self._schedules.get(schedule.name)
            if old is not None:
                schedule = schedule.model_copy(update={"created_at": old.created_at})
            self._schedules[schedule.name] = schedule

    def list_schedules(self) -> list[Schedule]:
        with self._lock:
            return [self._schedules[k] for k in sorted(self._schedules)]

    def delete_schedule(self, name: str) -> bool:
        with self._lock:
            return self._schedules.pop(name, None) is not None

    def mark_fired(self, name: str, at: datetime) -> None:
        with self._lock:
            old = self._schedules.get(name)
            if old is not None and (old.last_fired_at is None or old.last_fired_at < at):
                self._schedules[name] = old.model_copy(update={"last_fired_at": at})
