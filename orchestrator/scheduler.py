"""Schedules: named matrices (models × pools × compute units) fired by cron, through Celery beat.

Beat runs :class:`StoreScheduler`, which reads the schedules from the job store (so ``pomar
schedule add`` needs no restart) and, when one is due, sends ``pomar.fire_schedule`` to the
coordinator; :class:`ScheduleFirer` there prepares one job per model and submits it. The time
each schedule last fired is kept in the store, so a restarted beat neither repeats nor skips.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from celery.beat import ScheduleEntry, Scheduler

from orchestrator.cron import parse_cron
from orchestrator.farmfile import SweepPlan
from orchestrator.store import JobStore, Schedule
from orchestrator.sweeps import PlanSubmitter, new_sweep_id, plan_of
from pomar_core.celery_app import FIRE_SCHEDULE, RESULTS_QUEUE
from pomar_core.errors import PomarError, UsageError

__all__ = ["ScheduleFirer", "StoreScheduler", "new_schedule", "parse_cron"]

log = logging.getLogger(__name__)


class StoreScheduler(Scheduler):  # type: ignore[misc]
    """A beat scheduler whose entries are the store's schedules, re-read every ``refresh_s``."""

    refresh_s = 30.0

    def __init__(self, app: Any, *, store: JobStore, **kwargs: Any) -> None:
        self.store = store
        self._loaded_at = 0.0
        super().__init__(app, **kwargs)

    def setup_schedule(self) -> None:
        self._load()

    @property
    def schedule(self) -> dict[str, ScheduleEntry]:
        if time.monotonic() - self._loaded_at > self.refresh_s:
            self._load()
        entries: dict[str, ScheduleEntry] = self.data
        return entries

    def reserve(self, entry: ScheduleEntry) -> ScheduleEntry:
        fresh = next(entry)
        self.data[entry.name] = fresh
        self.store.mark_fired(entry.name, _aware(fresh.last_run_at))
        return fresh

    def _load(self) -> None:
        entries: dict[str, ScheduleEntry] = {}
        for schedule in self.store.list_schedules():
            last = schedule.last_fired_at or schedule.created_at
            entries[schedule.name] = ScheduleEntry(
                name=schedule.name,
                task=FIRE_SCHEDULE,
                schedule=parse_cron(schedule.cron, schedule.timezone),
                args=(schedule.name,),
                options={"queue": RESULTS_QUEUE},
                last_run_at=last,
                app=self.app,
            )
        self.data = entries
        self._loaded_at = time.monotonic()


class ScheduleFirer:
    """The coordinator side: one job per model of a due schedule, targeted at its pools."""

    def __init__(
        self, submit_model: Any, store: JobStore, submit_plan: PlanSubmitter | None = None
    ) -> None:
        self.submit_model = submit_model
        """``(model, pools, compute_units, label) -> job_id``: prepares and submits one job."""
        self.store = store
        self.submit_plan = submit_plan
        """For farm-file schedules: one job per model entry, all of one sweep."""

    def fire(self, name: str) -> list[str]:
        schedule = next((s for s in self.store.list_schedules() if s.name == name), None)
        if schedule is None:
            log.warning("schedule %s fired but no longer exists; ignored", name)
            return []
        plan = plan_of(schedule)
        if plan is not None and self.submit_plan is not None:
            return self._fire_plan(plan)
        jobs = []
        for model in schedule.models:
            try:
                jobs.append(self.submit_model(model, schedule.pools, schedule.compute_units, name))
            except PomarError as exc:
                log.warning("schedule %s: %s not submitted: %s", name, model, exc.one_line())
        log.warning("schedule %s fired: %s", name, ", ".join(jobs) or "no jobs")
        return jobs

    def _fire_plan(self, plan: SweepPlan) -> list[str]:
        assert self.submit_plan is not None
        sweep_id = new_sweep_id(plan.name, datetime.now(UTC))
        jobs = []
        for entry in plan.models:
            try:
                jobs.append(self.submit_plan(plan, entry, sweep_id))
            except PomarError as exc:
                log.warning("sweep %s: %s not submitted: %s", sweep_id, entry.path, exc.one_line())
        log.warning("sweep %s fired: %s", sweep_id, ", ".join(jobs) or "no jobs")
        return jobs


def new_schedule(
    name: str, cron: str, models: tuple[str, ...], pools: tuple[str, ...], units: tuple[str, ...]
) -> Schedule:
    """A validated schedule (bad cron or an empty matrix is a ``UsageError``)."""
    parse_cron(cron)
    if not models or not pools:
        raise UsageError(
            "a schedule needs at least one --model and one --pool",
            hint="e.g. pomar schedule add nightly --cron '0 2 * * *' --model m.mlpackage --pool p",
        )
    return Schedule(
        name=name,
        cron=cron,
        models=models,
        pools=pools,
        compute_units=units,
        created_at=datetime.now(UTC),
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
