"""A connection to a farm from this process: store, artifacts, broker, liveness, coordinator.

The CLI's farm commands and ``pomar coordinator`` build one from :class:`Settings`; the
coordinator process additionally runs the results worker and the reconciler
(:func:`serve_coordinator`).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from celery import Celery

from orchestrator.coordinator import Coordinator
from orchestrator.localise import LocalisePolicy, Localiser
from orchestrator.reconciler import Reconciler
from orchestrator.scheduler import ScheduleFirer
from orchestrator.store import JobStore
from orchestrator.stores import migrate_store, open_store
from orchestrator.sweep_watch import RedisSweepState, SweepWatcher, watch_sweeps
from orchestrator.sweeps import plan_submitter
from pomar_core.artifact_stores import open_artifacts
from pomar_core.artifacts import ArtifactStore
from pomar_core.celery_app import RESULTS_QUEUE, WorkerThread, make_app, roles
from pomar_core.errors import UsageError
from pomar_core.leases import RedisLiveness
from pomar_core.settings import Settings
from pomar_core.wire import ComputeUnit, DeviceSelector, RunConfig

log = logging.getLogger(__name__)


@dataclass
class Farm:
    store: JobStore
    artifacts: ArtifactStore
    app: Celery
    liveness: RedisLiveness
    coordinator: Coordinator


def broker_url_of(settings: Settings) -> str:
    if not settings.broker_url:
        raise UsageError(
            "no farm configured: POMAR_BROKER_URL is not set",
            hint="export POMAR_BROKER_URL=redis://host:6379/0 (or use `pomar check` embedded)",
        )
    return settings.broker_url


LIVE_MAX_AGE_S = 1.0
"""A submit reuses a read of the live devices up to a second old (one reconciler tick)."""


def connect(
    settings: Settings,
    *,
    migrate: bool = False,
    max_attempts: int = 3,
    wait_s: float | None = None,
) -> Farm:
    """Open the farm named by ``settings``; ``migrate`` first applies store migrations.
    ``wait_s`` only in the coordinator process: it alone sets and enforces waiting deadlines."""
    broker = broker_url_of(settings)
    if migrate:
        migrate_store(settings.resolved_store_url)
    store = open_store(settings.resolved_store_url)
    artifacts = open_artifacts(settings)
    app = make_app(broker, name="pomar-coordinator")
    liveness = RedisLiveness(broker)
    coordinator = Coordinator(
        store,
        artifacts,
        app,
        liveness,
        max_attempts=max_attempts,
        wait_s=wait_s,
        live_max_age_s=LIVE_MAX_AGE_S,
    )
    return Farm(store, artifacts, app, liveness, coordinator)


def model_submitter(farm: Farm, cache_dir: Path) -> Callable[..., str]:
    """What a fired schedule calls per model: prepare the job, submit it to its pools."""

    def submit_model(
        model: str, pools: tuple[str, ...], units: tuple[str, ...], schedule: str
    ) -> str:
        from orchestrator.check_job import CheckRequest, prepare_job
        from orchestrator.intake import ConversionOptions

        request = CheckRequest(
            model=model,
            conversion=ConversionOptions(),
            config=RunConfig(compute_units=tuple(ComputeUnit(u) for u in units)),
            target=DeviceSelector(pools=pools),
            label=f"schedule {schedule}",
        )
        job = prepare_job(request, farm.artifacts, cache_dir).job
        farm.coordinator.submit(job)
        return job.job_id

    return submit_model


def serve_coordinator(
    farm: Farm,
    stop: threading.Event,
    *,
    cache_dir: Path,
    tick_s: float = 1.0,
    stale_after_s: float = 15.0,
    lost_after_s: float = 10.0,
    sweep_tick_s: float = 5.0,
    localise: LocalisePolicy | None = None,
) -> None:
    """Record results (a worker on ``pomar.results``), fire due schedules, review finished
    sweeps, and reconcile, until ``stop`` is set. With ``localise``, probe results advance
    their localisations (and failures blamed on the engine start one, if ``auto``)."""
    if localise is not None:
        localiser = Localiser(farm.coordinator, cache_dir, localise)
        farm.coordinator.on_recorded.append(localiser.on_recorded)
    roles(farm.app).recorder = farm.coordinator
    roles(farm.app).firer = ScheduleFirer(
        model_submitter(farm, cache_dir),
        farm.store,
        submit_plan=plan_submitter(farm.artifacts, farm.coordinator.submit, cache_dir),
    )
    worker = WorkerThread(farm.app, [RESULTS_QUEUE], hostname=f"coordinator@{socket.gethostname()}")
    worker.start()
    log.warning("coordinator recording results from %s", RESULTS_QUEUE)
    watcher = SweepWatcher(
        farm.store, farm.coordinator.submit, RedisSweepState(str(farm.app.conf.broker_url))
    )
    threading.Thread(
        target=watch_sweeps, args=(watcher, stop, sweep_tick_s), daemon=True, name="sweeps"
    ).start()
    try:
        reconciler = Reconciler(
            farm.coordinator,
            farm.liveness,
            stale_after_s=stale_after_s,
            lost_after_s=lost_after_s,
        )
        reconciler.run(stop, tick_s)
    finally:
        worker.stop()
