"""Nightly sweeps from a farm file: storing its schedules, firing them, naming each sweep.

``pomar schedule apply FILE`` calls :func:`apply_farm_file`: every schedule of the file is
saved in the store (beat re-reads the store every 30 s, so no restart), and farm-file schedules
no longer in the file are removed; schedules made with ``pomar schedule add`` are left alone.

A fired plan becomes one job per model, all with ``submitted_by = "sweep:<name>@<stamp>"``:
that is the sweep's id, which is how the sweep watcher finds a night's jobs again, and
:data:`SWEEP_PRIORITY`, below every on-demand priority, so on-demand work goes first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from celery import Celery

from orchestrator.farmfile import FarmFile, ModelEntry, SweepPlan
from orchestrator.store import JobStore, Schedule
from pomar_core.artifacts import ArtifactStore
from pomar_core.celery_app import send_fire_schedule
from pomar_core.errors import UsageError
from pomar_core.wire import DeviceSelector, JobSpec, RunConfig

SWEEP_PRIORITY = 0
"""Nightly runs: the least urgent priority; on-demand jobs default to 5."""

SWEEP_PREFIX = "sweep:"

PlanSubmitter = Callable[[SweepPlan, ModelEntry, str], str]
"""``(plan, model, sweep_id) -> job_id``: prepares and submits one model of a fired plan."""


@dataclass(frozen=True)
class Applied:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def schedule_of(plan: SweepPlan, now: datetime) -> Schedule:
    return Schedule(
        name=plan.name,
        cron=plan.cron,
        timezone=plan.timezone,
        models=tuple(m.path for m in plan.models),
        pools=plan.pools or ("every pool",),
        compute_units=tuple(u.value for u in plan.compute_units),
        created_at=now,
        plan=plan.model_dump_json(by_alias=True),
    )


def apply_farm_file(store: JobStore, farm: FarmFile) -> Applied:
    """Store the file's schedules; drop farm-file schedules the file no longer has."""
    now = datetime.now(UTC)
    existing = {s.name: s for s in store.list_schedules()}
    added: list[str] = []
    changed: list[str] = []
    unchanged: list[str] = []
    for name, plan in farm.schedules.items():
        fresh = schedule_of(plan, now)
        old = existing.get(name)
        if old is not None and old.plan == fresh.plan and old.cron == fresh.cron:
            unchanged.append(name)
            continue
        if old is not None:
            # Keep when it last fired: a changed plan must not fire again at once.
            fresh = fresh.model_copy(
                update={"created_at": old.created_at, "last_fired_at": old.last_fired_at}
            )
        store.save_schedule(fresh)
        (added if old is None else changed).append(name)
    removed = [
        name
        for name, old in existing.items()
        if old.plan is not None and name not in farm.schedules and store.delete_schedule(name)
    ]
    return Applied(tuple(added), tuple(changed), tuple(unchanged), tuple(removed))


def find_schedule(store: JobStore, name: str) -> Schedule:
    found = next((s for s in store.list_schedules() if s.name == name), None)
    if found is None:
        raise UsageError(f"no schedule '{name}'", hint="see `pomar schedule list`")
    return found


def run_now(store: JobStore, app: Celery, name: str) -> Schedule:
    """Have the coordinator fire ``name`` now, as beat would; its cron bookkeeping is kept."""
    found = find_schedule(store, name)
    send_fire_schedule(app, name)
    return found


def plan_of(schedule: Schedule) -> SweepPlan | None:
    return None if schedule.plan is None else SweepPlan.model_validate_json(schedule.plan)


def new_sweep_id(name: str, at: datetime) -> str:
    return f"{name}@{at:%Y%m%dT%H%M%S%fZ}"


def sweep_of(job: JobSpec) -> str | None:
    """The sweep id a job belongs to, or None for an on-demand job."""
    who = job.submitted_by or ""
    return who.removeprefix(SWEEP_PREFIX) if who.startswith(SWEEP_PREFIX) else None


def run_config(plan: SweepPlan, entry: ModelEntry) -> RunConfig:
    return RunConfig(
        compute_units=plan.compute_units,
        precision=plan.precision,
        warmup=plan.warmup,
        iterations=plan.iterations,
        timeout_s=plan.timeout_s,
        tolerance=entry.tolerance,
        budgets=entry.budgets,
    )


def target_of(plan: SweepPlan) -> DeviceSelector:
    if plan.every_pool:
        return DeviceSelector(every_pool_once=True)
    return DeviceSelector(pools=plan.pools)


def sweep_job(job: JobSpec, plan: SweepPlan, sweep_id: str) -> JobSpec:
    """A prepared job made part of a sweep: its label, submitter and priority."""
    return job.model_copy(
        update={
            "label": f"schedule {plan.name}",
            "submitted_by": SWEEP_PREFIX + sweep_id,
            "priority": SWEEP_PRIORITY,
        }
    )


def plan_submitter(
    artifacts: ArtifactStore, submit: Callable[[JobSpec], object], cache_dir: Path
) -> PlanSubmitter:
    """What the coordinator calls per model of a fired plan: prepare the job (intake,
    inputs, reference), make it part of the sweep, submit it."""

    def submit_plan(plan: SweepPlan, entry: ModelEntry, sweep_id: str) -> str:
        from orchestrator.check_job import CheckRequest, prepare_job
        from orchestrator.intake import ConversionOptions

        request = CheckRequest(
            model=entry.path,
            conversion=ConversionOptions(),
            config=run_config(plan, entry),
            inputs_path=Path(entry.inputs) if entry.inputs else None,
            seed=entry.seed,
            target=target_of(plan),
        )
        job = sweep_job(prepare_job(request, artifacts, cache_dir).job, plan, sweep_id)
        submit(job)
        return job.job_id

    return submit_plan
