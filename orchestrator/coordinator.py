"""The coordinator: expands jobs into runs, routes them, records what agents report, retries
what the farm (not the model) failed.

It owns the store. Recording is idempotent by (run id, attempt): a duplicate delivery, a result
of a superseded attempt, or a result for an unknown or cancelled run changes nothing and leaves
a log line. Infrastructure failures (``device_lost``, ``timeout``) are retried on another device
of the pool up to ``max_attempts``; model failures are results and never retried.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from celery import Celery

from orchestrator.fairness import ON_DEMAND_FLOOR, stagger, submitter_of, waiting_of
from orchestrator.history.series import mark_hot
from orchestrator.judge import judge
from orchestrator.routing import expand_job, needs_known, plan_runs, target_of
from orchestrator.store import JobStore, RunRecord
from pomar_core.artifacts import ArtifactStore
from pomar_core.celery_app import device_queue, publishing, send_run
from pomar_core.errors import UsageError
from pomar_core.leases import RUN_CANCELLED, RUN_DONE, Liveness
from pomar_core.wire import (
    DeviceInfo,
    DeviceKind,
    DeviceState,
    Heartbeat,
    JobSpec,
    RunResult,
    RunSpec,
    RunStatus,
    device_pools,
)

__all__ = ["Coordinator", "expand_job"]

log = logging.getLogger(__name__)

NO_DEVICE = DeviceInfo(
    udid="-", kind=DeviceKind.IOS, product_type="-", marketing_name="no device picked it up"
)
"""The device of a result the coordinator writes itself (a run no device ever ran)."""

_PRIORITY_CACHE = 10_000
_JOB_CACHE = 1_000
"""Jobs kept for recording: a sweep's jobs are recorded at once; older ones are re-read."""


class Coordinator:
    """Submits jobs and records results (the ``ResultRecorder`` of the results worker).

    Without ``liveness`` (embedded mode) every device is assumed present and runs are enqueued
    as they are submitted. ``wait_s`` is how long a run may wait for a live device; None in a
    process that only submits (the coordinator process owns deadlines).
    """

    def __init__(
        self,
        store: JobStore,
        artifacts: ArtifactStore,
        app: Celery,
        liveness: Liveness | None = None,
        *,
        max_attempts: int = 3,
        wait_s: float | None = 3600.0,
        live_max_age_s: float = 0.0,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.app = app
        self.liveness = liveness
        self.max_attempts = max_attempts
        self.wait_s = wait_s
        self._priorities: dict[str, int] = {}
        """Job priority by job id: every dispatch of a run (retries too) carries its job's."""
        self._submitters: dict[str, str] = {}
        """Submitter by job id, for staggering (bounded like ``_priorities``)."""
        self._lock = threading.Lock()
        self._jobs: dict[str, JobSpec] = {}
        """Jobs by id, oldest first (bounded by ``_JOB_CACHE``)."""
        self.live_max_age_s = live_max_age_s
        """How old a read of the live devices a submit may reuse (0: read every time)."""
        self._seen_live: tuple[float, dict[str, Heartbeat]] | None = None
        self.on_recorded: list[Callable[[RunResult, JobSpec], None]] = []
        """Called with each recorded result and its job (the localiser listens here)."""

    # -- submitting -------------------------------------------------------------------------

    def submit(self, job: JobSpec, devices: Sequence[DeviceInfo] | None = None) -> list[RunSpec]:
        """Save the job and its runs, then enqueue them. The store is written first, so a
        broker that loses a message cannot lose a run. ``devices`` pins the job to exactly
        those devices (embedded); otherwise its selector is resolved against the farm."""
        live = self._recent_live()
        if devices is not None:
            runs = expand_job(job, devices)
        else:
            known = self.known_devices(live) if needs_known(job.target) else []
            runs = plan_runs(job, known)
        priorities = self._staggered(job, runs, live)
        self.store.add_job(job, runs)
        self._remember_priority(job.job_id, job.priority)
        self._remember_job(job)
        now = datetime.now(UTC)
        # As the store now holds them: no read back per run.
        records = [
            RunRecord(spec=spec, status=RunStatus.QUEUED, queue=q, created_at=now, updated_at=now)
            for spec, q in runs
        ]
        self._dispatch_new(records, live, priorities)
        return [spec for spec, _ in runs]

    def _dispatch_new(
        self, records: Sequence[RunRecord], live: dict[str, Heartbeat], priorities: dict[str, int]
    ) -> None:
        """:meth:`dispatch` for a job's fresh runs, batched: their flags in one Redis round
        trip, their messages through one producer (a sweep's job has hundreds of runs)."""
        default = self._priority(records[0].spec.job_id) if records else 0
        if self.liveness is None:
            sendable = list(records)
        else:
            takers = {q: bool(self._takers(q, live)) for q in {r.queue for r in records}}
            sendable = [r for r in records if takers[r.queue]]
            for record in records:
                if not takers[record.queue]:
                    self._wait(record, "{} '{}'".format(*target_of(record.queue)))
            # The flags first: a reconciler pass in between must not enqueue them again.
            self.liveness.set_runs({r.run_id: str(r.attempt) for r in sendable})
        with publishing(self.app) as producer:
            for record in sendable:
                priority = priorities.get(record.run_id, default)
                send_run(self.app, record.spec, record.queue, priority, producer=producer)

    def _staggered(
        self, job: JobSpec, runs: Sequence[tuple[RunSpec, str]], live: dict[str, Heartbeat]
    ) -> dict[str, int]:
        """Per-run priorities that share each queue round robin between submitters
        (:mod:`orchestrator.fairness`); sweeps are not staggered."""
        if job.priority < ON_DEMAND_FLOOR:
            return {}
        queues = {q for _, q in runs}
        queued = self.store.unfinished_states(queues)  # the columns, no spec parsed
        for job_id in {r.job_id for r in queued} - self._submitters.keys():
            self._submitters[job_id] = submitter_of(self.store.get_job(job_id))
        devices = {q: max(1, len(self._takers(q, live))) for q in queues}
        waiting = waiting_of(submitter_of(job), queued, self._submitters)
        self._submitters[job.job_id] = submitter_of(job)
        return stagger(job, runs, waiting, devices)

    def known_devices(self, live: dict[str, Heartbeat] | None = None) -> list[DeviceInfo]:
        """Devices live now (``live``, or read now) or ever seen; a live device's facts are
        its heartbeat's (they are fresher)."""
        known = {d.udid: d for d in (r.info for r in self.store.list_devices())}
        known.update({u: hb.info for u, hb in (self._live() if live is None else live).items()})
        return list(known.values())

    def dispatch(
        self,
        record: RunRecord,
        *,
        avoid: str | None = None,
        live: dict[str, Heartbeat] | None = None,
        priority: int | None = None,
    ) -> bool:
        """Hand a queued run to the broker if a live device can take it; otherwise say why it
        waits, and fail it once its deadline passed. True when it was sent. ``priority``
        overrides the job's (a staggered first dispatch)."""
        if priority is None:
            priority = self._priority(record.spec.job_id)
        if self.liveness is None:
            send_run(self.app, record.spec, record.queue, priority)
            return True
        live = self._live() if live is None else live
        kind, name = target_of(record.queue)
        candidates = self._takers(record.queue, live)
        if not candidates:
            self._wait(record, f"{kind} '{name}'")
            return False
        queue = record.queue
        others = [hb for hb in candidates if hb.info.udid != avoid]
        if kind == "pool" and avoid is not None and others:
            # "Retried on another device": send straight to an idle one of the pool.
            others.sort(key=lambda hb: (hb.state.value != "idle", hb.info.udid))
            queue = device_queue(others[0].info.udid)
        # The flag first: a reconciler pass in between must not enqueue it a second time.
        self.liveness.set_run(record.run_id, str(record.attempt))
        send_run(self.app, record.spec, queue, priority)
        if record.detail and record.detail.startswith("waiting"):
            self.store.set_waiting(record.run_id, None, None)
        return True

    @staticmethod
    def _takers(queue: str, live: dict[str, Heartbeat]) -> list[Heartbeat]:
        """The live devices that consume ``queue``."""
        kind, name = target_of(queue)
        # A quarantined device heartbeats but serves no queue: it cannot take the run.
        takers = {u: hb for u, hb in live.items() if hb.state is not DeviceState.QUARANTINED}
        if kind == "device":
            return [hb for u, hb in takers.items() if u == name]
        return [hb for hb in takers.values() if name in device_pools(hb.info)]

    def _wait(self, record: RunRecord, target: str) -> None:
        """Say why the run waits. Only the coordinator process (``wait_s`` set) gives it a
        deadline and fails it there; a submitting CLI just says it waits."""
        now = datetime.now(UTC)
        if self.wait_s is None:
            if record.detail is None:
                self.store.set_waiting(
                    record.run_id, f"waiting for a live device in {target}", None
                )
        elif record.deadline_at is None:
            deadline = now + timedelta(seconds=self.wait_s)
            detail = f"waiting for a live device in {target} until {deadline:%H:%M:%S} UTC"
            self.store.set_waiting(record.run_id, detail, deadline)
        elif now >= record.deadline_at:
            self.fail(
                record,
                RunStatus.TIMEOUT,
                f"no live device in {target} within {self.wait_s:.0f}s of waiting",
            )

    def cancel(self, job_id: str) -> int:
        """Cancel a job's unfinished runs. Queued ones are dropped by the agents; running ones
        are told to stop and their results ignored."""
        unfinished = [r for r in self.store.list_runs(job_id) if not r.status.finished]
        n = self.store.cancel_job(job_id)
        if self.liveness is not None:
            for record in unfinished:
                self.liveness.set_run(record.run_id, RUN_CANCELLED)
        return n

    # -- recording --------------------------------------------------------------------------

    def run_started(self, run_id: str, device_udid: str, attempt: int | None = None) -> None:
        if not self.store.mark_running(run_id, device_udid, attempt):
            log.info("run %s started on %s but is not queued; ignoring", run_id, device_udid)

    def record(self, result: RunResult) -> None:
        """Judge and record ``result`` once. The common case costs one cached job lookup and
        one conditional UPDATE; the run is read only to retry it or to say why a result was
        ignored (the UPDATE refuses unknown, finished and superseded runs by itself)."""
        if result.status.is_infrastructure_failure:
            record = self.store.get_run(result.run_id)
            if record is None:
                log.warning("result for unknown run %s ignored", result.run_id)
                return
            if not self._current(record, result):
                return
            why = f"attempt {result.attempt} {result.status.value} on {result.device.udid}"
            if result.error:
                why += f": {result.error}"
            if self.retry(record, why, avoid=result.device.udid):
                return
        job = self._job(result.job_id)
        if job is None:
            log.warning("result for unknown run %s ignored", result.run_id)
            return
        judged = judge(mark_hot(result), job, self.artifacts)
        if not self.store.record_result(judged):
            record = self.store.get_run(result.run_id)
            if record is None:
                log.warning("result for unknown run %s ignored", result.run_id)
            elif self._current(record, result):
                log.info("result for run %s was recorded concurrently; ignoring", result.run_id)
            return
        self._done(result.run_id)
        for listener in self.on_recorded:
            try:
                listener(judged, job)
            except Exception:  # the result is recorded; a listener's bug must not undo that
                log.exception("after recording run %s", result.run_id)

    @staticmethod
    def _current(record: RunRecord, result: RunResult) -> bool:
        """Is ``result`` for the attempt in flight of an unfinished run? Logs why not."""
        if record.status.finished:
            log.info("result for run %s ignored: already %s", result.run_id, record.status.value)
            return False
        if result.attempt != record.attempt:
            log.info(
                "result of attempt %d of run %s ignored: attempt %d is current",
                result.attempt,
                result.run_id,
                record.attempt,
            )
            return False
        return True

    def _job(self, job_id: str) -> JobSpec | None:
        """The job (jobs never change once submitted, so they are cached), or None."""
        with self._lock:
            found = self._jobs.get(job_id)
        if found is None:
            try:
                found = self.store.get_job(job_id)
            except UsageError:
                return None
            self._remember_job(found)
        return found

    def _remember_job(self, job: JobSpec) -> None:
        with self._lock:  # the results worker records while a sweep thread submits
            if len(self._jobs) >= _JOB_CACHE:
                self._jobs.pop(next(iter(self._jobs)))  # the oldest: jobs finish in order
            self._jobs[job.job_id] = job

    def retry(self, record: RunRecord, why: str, *, avoid: str | None = None) -> bool:
        """Requeue ``record`` as its next attempt; False (nothing done) when out of attempts."""
        if record.attempt >= self.max_attempts:
            return False
        spec = record.spec.model_copy(update={"attempt": record.attempt + 1})
        if not self.store.requeue(spec, record.queue, detail=why):
            return True  # moved on meanwhile (recorded, cancelled, or already retried)
        log.warning("run %s requeued as attempt %d: %s", record.run_id, spec.attempt, why)
        fresh = self.store.get_run(record.run_id)
        if fresh is not None:
            self.dispatch(fresh, avoid=avoid)
        return True

    def fail(
        self, record: RunRecord, status: RunStatus, error: str, device: DeviceInfo | None = None
    ) -> None:
        """Finish a run with a result the coordinator writes (no device reported one)."""
        now = datetime.now(UTC)
        result = RunResult(
            run_id=record.run_id,
            job_id=record.spec.job_id,
            device=device or NO_DEVICE,
            compute_unit=record.spec.compute_unit,
            status=status,
            attempt=record.attempt,
            started_at=None,
            finished_at=now,
            error=error,
        )
        if self.store.record_result(result):
            log.warning("run %s failed: %s", record.run_id, error)
            self._done(record.run_id)

    def _priority(self, job_id: str) -> int:
        found = self._priorities.get(job_id)
        if found is None:
            found = self.store.get_job(job_id).priority
            self._remember_priority(job_id, found)
        return found

    def _remember_priority(self, job_id: str, priority: int) -> None:
        if len(self._priorities) >= _PRIORITY_CACHE:
            self._priorities.clear()  # a coordinator lives for weeks; re-reading is cheap
            self._submitters.clear()
        self._priorities[job_id] = priority

    def _done(self, run_id: str) -> None:
        if self.liveness is not None:
            self.liveness.set_run(run_id, RUN_DONE)

    def _live(self) -> dict[str, Heartbeat]:
        if self.liveness is None:
            return {}
        live = self.liveness.live()
        self.saw_live(live)
        return live

    def saw_live(self, live: dict[str, Heartbeat]) -> None:
        """A fresh read of the live devices (the reconciler's, every tick) for submits."""
        with self._lock:
            self._seen_live = (time.monotonic(), live)

    def _recent_live(self) -> dict[str, Heartbeat]:
        """The live devices as read at most ``live_max_age_s`` ago. Reading a thousand
        phones' heartbeats costs more than the rest of a submit; a view a tick old is safe
        because a run routed on it heals by itself: one sent to a pool that just lost its
        device waits in the queue, and one held back for a device that just came is sent by
        the reconciler's next tick. Retries always read afresh."""
        with self._lock:
            seen = self._seen_live
        if seen is not None and time.monotonic() - seen[0] < self.live_max_age_s:
            return seen[1]
        return self._live()
