"""A tiny converted Core ML job, built once per test process and copied into any store."""

from __future__ import annotations

import functools
import shutil
import tempfile
import uuid
from pathlib import Path

from orchestrator.check_job import CheckRequest, new_job_id, prepare_job
from orchestrator.intake import ConversionOptions
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifacts import ArtifactStore
from pomar_core.wire import ComputeUnit, DeviceSelector, JobSpec, Precision, RunConfig

TINY = str(Path(__file__).with_name("tiny.py")) + ":build"


@functools.cache
def _built() -> tuple[JobSpec, Path]:
    root = Path(tempfile.mkdtemp(prefix="pomar-tiny-"))
    artifacts = LocalArtifactStore(root / "artifacts")
    request = CheckRequest(
        model=TINY,
        conversion=ConversionOptions(precision=Precision.FP32),
        config=RunConfig(compute_units=(ComputeUnit.CPU,), warmup=0, iterations=2),
    )
    prepared = prepare_job(request, artifacts, root / "cache")
    return prepared.job, root / "artifacts"


def tiny_job(
    artifacts: ArtifactStore,
    target: DeviceSelector | None = None,
    units: tuple[ComputeUnit, ...] = (ComputeUnit.CPU,),
) -> JobSpec:
    """A fresh job (new id) of the tiny model, its artifacts copied into ``artifacts``."""
    job, root = _built()
    for blob in root.glob("*/*"):
        if not artifacts.exists(blob.name):
            artifacts.put_file(blob)
    return job.model_copy(
        update={
            "job_id": f"{new_job_id()}-{uuid.uuid4().hex[:4]}",
            "target": target or DeviceSelector(),
            "config": job.config.model_copy(update={"compute_units": units}),
        }
    )


def copy_artifacts_to(directory: Path) -> None:
    """Seed a shared artifact directory (for agent subprocesses) with the tiny model."""
    _, root = _built()
    shutil.copytree(root, directory, dirs_exist_ok=True)
