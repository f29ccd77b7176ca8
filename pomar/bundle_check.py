"""``pomar check --from-bundle PATH --device …``: rerun a repro bundle's job on your own
devices (embedded, or on the farm ``POMAR_BROKER_URL`` names), against the reference the
bundle carries — no model conversion, no reference recomputed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from orchestrator.check_job import OnUpdate, Progress, new_job_id, wait_for_runs
from orchestrator.farm import connect
from orchestrator.reports import ResultsDocument
from orchestrator.repro.archive import copy_into, read_bundle
from pomar.check_run import embedded_devices, run_embedded_job
from pomar_core.artifact_stores import open_artifacts
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import UsageError
from pomar_core.settings import Settings
from pomar_core.wire import DeviceSelector, JobSpec


def rerun_bundle(
    settings: Settings,
    path: Path,
    target: DeviceSelector,
    progress: Progress = lambda _: None,
    on_update: OnUpdate = lambda _: None,
) -> tuple[ResultsDocument, ArtifactStore]:
    """Load the bundle's artifacts, submit its job as a new job on ``target``, wait."""
    cache = settings.data_dir / "cache"
    farm = None if settings.embedded else connect(settings)
    artifacts = open_artifacts(settings) if farm is None else farm.artifacts
    devices = embedded_devices(target) if farm is None else []
    if farm is not None and not (target.device_ids or target.pools or target.kinds):
        raise UsageError(
            "on a farm, `pomar check --from-bundle` needs devices to run on",
            hint="pass --device ID, --pool NAME or --kind ios",
        )
    progress("reading the bundle")
    with read_bundle(path) as (manifest, staged):
        copy_into(staged, artifacts)
    job = _rerun_of(manifest.job, target, path)
    if farm is None:
        records = run_embedded_job(settings, job, artifacts, cache, devices, progress, on_update)
    else:
        runs = farm.coordinator.submit(job)
        progress(f"running {len(runs)} run(s) on the farm")
        records = wait_for_runs(
            farm.store,
            job.job_id,
            timeout_s=job.config.timeout_s * max(1, len(runs)),
            on_update=on_update,
            poll_s=0.5,
        )
    results = [r.result for r in records if r.result is not None]
    return ResultsDocument.of(results, job=job), artifacts


def _rerun_of(job: JobSpec, target: DeviceSelector, path: Path) -> JobSpec:
    return job.model_copy(
        update={
            "job_id": new_job_id(),
            "target": target,
            "submitted_at": datetime.now(UTC),
            "label": f"rerun of {job.job_id} from {path.name}",
            "probe_of": None,
        }
    )
