"""The run executor: artifacts by address, a model fetched once per host, outputs stored once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agent.devices.emulated.device import EmulatedDevice
from agent.executor import DeviceRunExecutor
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifact_stores.s3 import MemoryObjectClient, S3ArtifactStore
from pomar_core.wire import JobSpec, RunSpec, RunStatus
from tests.integration.models import tiny_job


class CountingStore(LocalArtifactStore):
    """Counts every read of an address: what a remote store would transfer."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: Counter[str] = Counter()

    def local_path(self, sha256: str) -> Path:
        self.reads[sha256] += 1
        return super().local_path(sha256)


def _spec(job: JobSpec, n: int, device_id: str | None = "emulated-0") -> RunSpec:
    return RunSpec(
        run_id=f"{job.job_id}-{n}",
        job_id=job.job_id,
        device_id=device_id,
        compute_unit=job.config.compute_units[0],
        model=job.model,
        inputs=job.inputs,
        config=job.config,
    )


def test_a_second_run_of_the_same_model_on_a_host_reads_no_model_bytes(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "artifacts")
    job = tiny_job(store)
    executor = DeviceRunExecutor(EmulatedDevice(0), store, tmp_path / "cache" / "models")
    first = executor.execute(_spec(job, 1))
    reads_after_first = store.reads[job.model.sha256]
    second = executor.execute(_spec(job, 2))
    assert (first.status, second.status) == (RunStatus.PASSED, RunStatus.PASSED)
    assert reads_after_first == 1
    assert store.reads[job.model.sha256] == 1


def test_through_an_s3_store_a_model_is_downloaded_once_and_equal_outputs_uploaded_once(
    tmp_path: Path,
) -> None:
    # No real S3 here: this exercises the store against the fake at the ObjectClient seam.
    bucket = MemoryObjectClient()
    coordinator_side = S3ArtifactStore(bucket, tmp_path / "coordinator-cache", prefix="pomar/")
    job = tiny_job(coordinator_side)
    agent_side = S3ArtifactStore(bucket, tmp_path / "agent-cache", prefix="pomar/")
    executor = DeviceRunExecutor(EmulatedDevice(0), agent_side, tmp_path / "models")
    uploads_before = bucket.uploads
    results = [executor.execute(_spec(job, n)) for n in (1, 2)]
    assert [r.status for r in results] == [RunStatus.PASSED, RunStatus.PASSED]
    assert bucket.downloads == 2  # the model and the input set, each once
    assert results[0].outputs == results[1].outputs
    assert bucket.uploads - uploads_before == len(results[0].outputs)
    assert all(k.startswith("pomar/") for k in bucket.objects)


def test_a_run_addressed_to_another_device_is_not_admitted(tmp_path: Path) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    job = tiny_job(store)
    executor = DeviceRunExecutor(EmulatedDevice(0), store, tmp_path / "models")
    assert executor.admit(_spec(job, 1, device_id=None))
    assert not executor.admit(_spec(job, 2, device_id="emulated-9"))


@pytest.mark.parametrize("missing", ["model", "inputs"])
def test_a_missing_artifact_is_an_error_result_not_a_dead_worker(
    tmp_path: Path, missing: str
) -> None:
    store = LocalArtifactStore(tmp_path / "artifacts")
    job = tiny_job(store)
    sha = job.model.sha256 if missing == "model" else job.inputs.sha256
    (tmp_path / "artifacts" / sha[:2] / sha).unlink()
    executor = DeviceRunExecutor(EmulatedDevice(0), store, tmp_path / "models")
    result = executor.execute(_spec(job, 1))
    assert result.status is RunStatus.ERROR
    assert result.error is not None
    assert sha[:12] in result.error
