"""``pomar import PATH``: a repro bundle into this store, its artifacts into this artifact store."""

from __future__ import annotations

from pathlib import Path

from orchestrator.repro.archive import copy_into, read_bundle
from orchestrator.repro.manifest import DEFAULT_LIMITS, BundleLimits, ReproManifest
from orchestrator.store import JobStore
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import UsageError

IMPORTED_QUEUE = "pomar.imported"
"""The queue imported runs are filed under: no agent serves it."""


def import_bundle(
    path: Path, store: JobStore, artifacts: ArtifactStore, limits: BundleLimits = DEFAULT_LIMITS
) -> tuple[ReproManifest, int]:
    """Validate the bundle, then store its artifacts, its job and its finished runs; the
    manifest and the number of runs imported. Runs without a result are left out (they would
    look queued to this farm)."""
    with read_bundle(path, limits) as (manifest, staged):
        job = manifest.job
        try:
            store.get_job(job.job_id)
        except UsageError:
            pass
        else:
            raise UsageError(
                f"job {job.job_id} is already in this store",
                hint=f"see it with `pomar results {job.job_id}`, or import into another store",
            )
        copy_into(staged, artifacts)
    finished = [r for r in manifest.runs if r.result is not None]
    store.add_job(job, [(r.spec, IMPORTED_QUEUE) for r in finished])
    for record in finished:
        assert record.result is not None
        store.record_result(record.result)
    return manifest, len(finished)
