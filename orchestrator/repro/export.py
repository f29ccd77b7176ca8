"""``pomar export JOB|RUN PATH``: a job (or one of its runs) from a store into a bundle."""

from __future__ import annotations

import importlib.metadata
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.repro.archive import write_bundle
from orchestrator.repro.manifest import ReproManifest
from orchestrator.store import JobStore, RunRecord
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import ArtifactNotFound, UsageError
from pomar_core.wire import JobSpec


def export_bundle(
    store: JobStore, artifacts: ArtifactStore, ident: str, path: Path
) -> ReproManifest:
    """Write the job ``ident`` with all its runs, or the run ``ident`` with its job, to
    ``path``; the manifest written."""
    job, runs = _find(store, ident)
    manifest = ReproManifest(
        created_at=datetime.now(UTC),
        pomar_version=_version(),
        job=job,
        runs=tuple(runs),
        artifacts={},
    )
    sizes: dict[str, int] = {}
    source = job.model.source_sha256
    optional = {source} if source is not None else set()
    for sha in sorted(manifest.required() | optional):
        if not artifacts.exists(sha):
            if sha in optional:
                continue  # the source of a converted model is kept only when it was stored
            raise ArtifactNotFound(
                f"artifact {sha[:12]} of job {job.job_id} is not in the artifact store",
                hint="export from a host that sees the farm's artifact store (POMAR_ARTIFACTS_URL)",
            )
        sizes[sha] = artifacts.local_path(sha).stat().st_size
    manifest = manifest.model_copy(update={"artifacts": sizes})
    if path.is_dir():
        raise UsageError(f"{path} is a directory", hint="give a file name: repro.tar.gz")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bundle(manifest, artifacts, path)
    return manifest


def _find(store: JobStore, ident: str) -> tuple[JobSpec, list[RunRecord]]:
    run = store.get_run(ident)
    if run is not None:
        return store.get_job(run.spec.job_id), [run]
    try:
        job = store.get_job(ident)
    except UsageError:
        raise UsageError(
            f"no job or run '{ident}' in the store", hint="list jobs with `pomar status`"
        ) from None
    return job, store.list_runs(job.job_id)


def _version() -> str | None:
    try:
        return importlib.metadata.version("pomar")
    except importlib.metadata.PackageNotFoundError:
        return None
