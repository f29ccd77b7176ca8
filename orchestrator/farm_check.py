"""``pomar check`` on a farm: prepare the job here, run it on the farm's devices, wait."""

from __future__ import annotations

from pathlib import Path

from orchestrator.check_job import (
    CheckRequest,
    OnUpdate,
    PreparedJob,
    Progress,
    prepare_job,
    wait_for_runs,
)
from orchestrator.farm import Farm
from orchestrator.store import RunRecord
from pomar_core.errors import UsageError


def run_on_farm(
    farm: Farm,
    request: CheckRequest,
    cache_dir: Path,
    progress: Progress = lambda _: None,
    on_update: OnUpdate = lambda _: None,
) -> tuple[PreparedJob, list[RunRecord]]:
    """Prepare the job, submit it to ``farm``'s devices and wait for every run.

    Raises:
        UsageError: the request names no devices (a farm needs to be told which).
    """
    target = request.target
    if not (target.device_ids or target.pools or target.every_pool_once or target.kinds):
        raise UsageError(
            "on a farm, `pomar check` needs devices to run on",
            hint="pass --device ID, --pool NAME, --kind ios or --every-pool (see `pomar pools`)",
        )
    prepared = prepare_job(request, farm.artifacts, cache_dir, progress)
    runs = farm.coordinator.submit(prepared.job)
    progress(f"running {len(runs)} run(s) on the farm")
    records = wait_for_runs(
        farm.store,
        prepared.job.job_id,
        timeout_s=request.config.timeout_s * max(1, len(runs)),
        on_update=on_update,
        poll_s=0.5,
    )
    return prepared, records
