"""The same cases against every JobStore: SQLite, PostgreSQL (when reachable) and memory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.errors import UsageError
from orchestrator.store import JobStore
from orchestrator.stores.memory import MemoryJobStore
from orchestrator.stores.sql import SqlJobStore
from orchestrator.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    DType,
    InputOrigin,
    InputSet,
    JobSpec,
    ModelFormat,
    ModelRef,
    RunConfig,
    RunResult,
    RunSpec,
    RunStatus,
    SourceKind,
    TensorSpec,
)
from tests.conftest import need_service

SHA = "b" * 64
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=2
        ):
            return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "memory", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    if request.param == "sqlite":
        yield SqlJobStore(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    elif request.param == "memory":
        yield MemoryJobStore()
    else:
        if not _pg_available():
            need_service("PostgreSQL", "127.0.0.1:5432 with trust auth, database 'test'")
        sql = SqlJobStore(PG_URL)
        yield sql
        sql.engine.dispose()


def _job(job_id: str) -> JobSpec:
    model = ModelRef(
        sha256=SHA,
        format=ModelFormat.MLPACKAGE,
        name="m",
        source_kind=SourceKind.MLPACKAGE,
        specification_version=7,
        model_type="mlProgram",
        inputs=(TensorSpec(name="x", dtype=DType.FLOAT32, shape=(1,)),),
        outputs=(),
    )
    return JobSpec(
        job_id=job_id,
        model=model,
        inputs=InputSet(sha256=SHA, origin=InputOrigin.GENERATED, tensors=(), seed=0),
        submitted_at=datetime.now(UTC),
    )


def _run(job: JobSpec, n: int) -> RunSpec:
    return RunSpec(
        run_id=f"{job.job_id}-r{n}",
        job_id=job.job_id,
        device_id="emulated-0",
        compute_unit=ComputeUnit.CPU,
        model=job.model,
        inputs=job.inputs,
        config=RunConfig(),
    )


def _result(spec: RunSpec, status: RunStatus = RunStatus.PASSED) -> RunResult:
    device = DeviceInfo(
        udid="emulated-0", kind=DeviceKind.EMULATED, product_type="Emulator", marketing_name="e"
    )
    return RunResult(
        run_id=spec.run_id,
        job_id=spec.job_id,
        device=device,
        compute_unit=spec.compute_unit,
        status=status,
    )


def test_a_job_and_its_runs_come_back_as_saved(store: JobStore) -> None:
    job = _job(uuid.uuid4().hex)
    runs = [(_run(job, 1), "q1"), (_run(job, 2), "q2")]
    store.add_job(job, runs)
    assert store.get_job(job.job_id) == job
    records = store.list_runs(job.job_id)
    assert [r.spec for r in records] == [spec for spec, _ in runs]
    assert all(r.status is RunStatus.QUEUED for r in records)
    assert job.job_id in [j.job_id for j in store.list_jobs()]


def test_recording_a_result_twice_changes_nothing_the_second_time(store: JobStore) -> None:
    job = _job(uuid.uuid4().hex)
    spec = _run(job, 1)
    store.add_job(job, [(spec, "q")])
    assert store.mark_running(spec.run_id, "emulated-0")
    assert store.record_result(_result(spec, RunStatus.PARITY_FAILED))
    assert not store.record_result(_result(spec, RunStatus.PASSED))
    record = store.get_run(spec.run_id)
    assert record is not None
    assert record.status is RunStatus.PARITY_FAILED
    assert record.result is not None
    assert record.result.status is RunStatus.PARITY_FAILED


def test_a_result_for_an_unknown_or_cancelled_run_is_ignored(store: JobStore) -> None:
    job = _job(uuid.uuid4().hex)
    spec = _run(job, 1)
    stranger = _run(_job(uuid.uuid4().hex), 9)
    assert not store.record_result(_result(stranger))
    store.add_job(job, [(spec, "q")])
    assert store.cancel_job(job.job_id) == 1
    assert not store.record_result(_result(spec))
    assert not store.mark_running(spec.run_id, "emulated-0")
    record = store.get_run(spec.run_id)
    assert record is not None
    assert record.status is RunStatus.CANCELLED


def test_an_unknown_job_is_a_usage_error_that_says_how_to_list_jobs(store: JobStore) -> None:
    with pytest.raises(UsageError) as caught:
        store.get_job("nope")
    assert "pomar status" in caught.value.one_line()
