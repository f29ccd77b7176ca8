"""The coordinator's eye on sweeps: confirm, review, notify — once, whoever runs it.

On every tick :class:`SweepWatcher` looks at the sweeps of the recent jobs. When every run of
one has finished it is reviewed (:func:`orchestrator.sweep_review.review_sweep`); if its plan
asks for confirmation and a regression was flagged, each flagged run is re-run once on the
same device and compute unit (``confirm:<sweep>`` jobs) and the review waits for them. Then the
summary goes to the farm file's webhooks and is kept as the schedule's last summary.

Several coordinator processes may run watchers: each step is claimed in Redis with ``SET NX``
(``pomar:sweep:<id>:confirming`` / ``:reported``), so confirmations are submitted and webhooks
called once.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from orchestrator.farmfile import Notify, SweepPlan
from orchestrator.history.nightly import BandPolicy, NightVerdict
from orchestrator.notify import notify
from orchestrator.store import JobStore
from orchestrator.sweep_review import (
    CONFIRM_PREFIX,
    SweepSummary,
    confirm_jobs,
    review_sweep,
    schedule_of_sweep,
)
from orchestrator.sweeps import SWEEP_PRIORITY, plan_of, sweep_of
from pomar_core.errors import PomarError
from pomar_core.wire import DeviceSelector, JobSpec

log = logging.getLogger(__name__)

RECENT_JOBS = 500
KEEP_S = 14 * 24 * 3600


class SweepState(Protocol):
    def claim(self, key: str) -> bool:
        """Set ``key`` if unset; True for the one caller that set it."""
        ...

    def put(self, key: str, value: str) -> None: ...

    def get(self, key: str) -> str | None: ...


class RedisSweepState:
    def __init__(self, url: str) -> None:
        import redis

        self._redis: Any = redis.Redis.from_url(url, decode_responses=True)

    def claim(self, key: str) -> bool:
        return bool(self._redis.set(f"pomar:sweep:{key}", "1", nx=True, ex=KEEP_S))

    def put(self, key: str, value: str) -> None:
        self._redis.set(f"pomar:sweep:{key}", value)

    def get(self, key: str) -> str | None:
        found: str | None = self._redis.get(f"pomar:sweep:{key}")
        return found

    def close(self) -> None:
        self._redis.close()


class MemorySweepState:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def claim(self, key: str) -> bool:
        if key in self.values:
            return False
        self.values[key] = "1"
        return True

    def put(self, key: str, value: str) -> None:
        self.values[key] = value

    def get(self, key: str) -> str | None:
        return self.values.get(key)


def last_summary(state: SweepState, schedule: str) -> SweepSummary | None:
    found = state.get(f"last:{schedule}")
    return None if found is None else SweepSummary.model_validate_json(found)


class SweepWatcher:
    def __init__(
        self,
        store: JobStore,
        submit: Callable[[JobSpec], object],
        state: SweepState,
        *,
        backoff_s: float = 0.5,
    ) -> None:
        self.store = store
        self.submit = submit
        self.state = state
        self.backoff_s = backoff_s
        """First retry delay of a failing webhook (doubling)."""

    def tick(self) -> list[SweepSummary]:
        """Review every finished, unreported sweep; returns the summaries sent."""
        sent = []
        jobs = self.store.list_jobs(RECENT_JOBS)
        for sweep_id in dict.fromkeys(s for s in map(sweep_of, jobs) if s is not None):
            if self.state.get(f"{sweep_id}:reported") is None:
                summary = self._step(sweep_id, jobs)
                if summary is not None:
                    sent.append(summary)
        return sent

    def _step(self, sweep_id: str, jobs: list[JobSpec]) -> SweepSummary | None:
        plan = self._plan(sweep_id)
        config = plan.notify if plan is not None else Notify()
        policy = BandPolicy(plan.min_history, plan.history) if plan is not None else None
        summary, verdicts = review_sweep(
            self.store, sweep_id, policy=policy, report_url=config.report_url
        )
        if not summary.done:
            return None
        reruns = confirm_jobs(jobs, sweep_id)
        if reruns:
            if not all(r.status.finished for j in reruns for r in self.store.list_runs(j.job_id)):
                return None
        elif plan is not None and plan.confirm and any(v.regressions for v in verdicts):
            if self.state.claim(f"{sweep_id}:confirming"):
                self._confirm(sweep_id, verdicts, jobs)
            return None
        if not self.state.claim(f"{sweep_id}:reported"):
            return None
        summary = summary.model_copy(update={"reviewed_at": datetime.now(UTC)})
        self.state.put(f"last:{summary.schedule}", summary.model_dump_json())
        self.state.put("last", summary.model_dump_json())
        delivered = notify(summary, config.webhooks, backoff_s=self.backoff_s)
        log.warning(
            "sweep %s reviewed: %d regression(s), %d new failure(s), %d recovery(ies); "
            "%d/%d webhook(s) took it",
            sweep_id,
            len(summary.regressions),
            len(summary.new_failures),
            len(summary.recoveries),
            delivered,
            len(config.webhooks),
        )
        return summary

    def _plan(self, sweep_id: str) -> SweepPlan | None:
        name = schedule_of_sweep(sweep_id)
        schedule = next((s for s in self.store.list_schedules() if s.name == name), None)
        return plan_of(schedule) if schedule is not None else None

    def _confirm(self, sweep_id: str, verdicts: list[NightVerdict], jobs: list[JobSpec]) -> None:
        by_id = {j.job_id: j for j in jobs}
        for verdict in verdicts:
            job = by_id.get(verdict.point.job_id)
            if not verdict.regressions or job is None:
                continue
            unit = next(u for u in job.config.compute_units if u.value == verdict.key.compute_unit)
            rerun = job.model_copy(
                update={
                    "job_id": f"{job.job_id}-confirm-{uuid.uuid4().hex[:4]}",
                    "target": DeviceSelector(device_ids=(verdict.point.device_udid,)),
                    "config": job.config.model_copy(update={"compute_units": (unit,)}),
                    "submitted_by": CONFIRM_PREFIX + sweep_id,
                    "label": f"confirm {verdict.point.run_id}",
                    "priority": SWEEP_PRIORITY,
                    "submitted_at": datetime.now(UTC),
                }
            )
            self.submit(rerun)
            log.warning("sweep %s: re-running %s to confirm", sweep_id, verdict.key.describe())


def watch_sweeps(watcher: SweepWatcher, stop: threading.Event, tick_s: float) -> None:
    """Tick ``watcher`` until ``stop``; a failing tick is logged and retried next time."""
    while not stop.wait(tick_s):
        try:
            watcher.tick()
        except PomarError as exc:
            log.warning("sweep review: %s", exc.one_line())
        except Exception:  # the watcher must not take the coordinator down
            log.exception("sweep review failed; retrying on the next tick")
