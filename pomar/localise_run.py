"""``pomar localise`` as one call: on the farm (the coordinator process advances the search) or
embedded (this process runs the probes on the local device that ran the failing run).

It lives under ``pomar/`` because the embedded path composes both sides, like ``check_run``.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.local import local_devices, local_executors
from orchestrator.embedded import EmbeddedFarm
from orchestrator.farm import connect
from orchestrator.localise import (
    LocalisePolicy,
    Localiser,
    current_localisation,
    wait_for_localisation,
)
from orchestrator.store import JobStore
from orchestrator.stores import open_store
from pomar_core.artifact_stores import open_artifacts
from pomar_core.errors import UsageError
from pomar_core.settings import Settings
from pomar_core.wire import Localisation


@dataclass(frozen=True)
class LocaliseRequest:
    run_id: str
    action: str = "start"
    """``start``, ``cancel`` or ``show``."""
    max_runs: int | None = None
    wait: bool = True
    timeout_s: float = 3600.0


def localise(settings: Settings, request: LocaliseRequest) -> Localisation:
    """Start, cancel or show the localisation of a failing run."""
    if request.action == "show":
        return _shown(open_store(settings.resolved_store_url), request.run_id)
    cache = settings.data_dir / "cache"
    policy = LocalisePolicy(max_runs=settings.localise_max_runs, auto=False)
    if not settings.embedded:
        farm = connect(settings)
        localiser = Localiser(farm.coordinator, cache, policy)
        if request.action == "cancel":
            return localiser.cancel(request.run_id)
        loc = localiser.start(request.run_id, request.max_runs)
        if not request.wait or loc.status.finished:
            return loc
        return wait_for_localisation(farm.store, request.run_id, timeout_s=request.timeout_s)
    store = open_store(settings.resolved_store_url)
    artifacts = open_artifacts(settings)
    record = store.get_run(request.run_id)
    if record is None or record.result is None:
        raise UsageError(f"no finished run {request.run_id}", hint="`pomar status JOB` lists runs")
    devices = local_devices((record.result.device.udid,))
    with EmbeddedFarm(store, artifacts, local_executors(devices, artifacts, cache)) as embedded:
        localiser = Localiser(embedded.coordinator, cache, policy)
        embedded.coordinator.on_recorded.append(localiser.on_recorded)
        try:
            if request.action == "cancel":
                return localiser.cancel(request.run_id)
            loc = localiser.start(request.run_id, request.max_runs)
            if loc.status.finished:
                return loc
            # Embedded, the probes run in this process: leaving early would strand them.
            return wait_for_localisation(store, request.run_id, timeout_s=request.timeout_s)
        finally:
            localiser.close()


def _shown(store: JobStore, run_id: str) -> Localisation:
    loc = current_localisation(store, run_id)
    if loc is None:
        raise UsageError(
            f"run {run_id} has no localisation", hint=f"`pomar localise {run_id}` starts one"
        )
    return loc
