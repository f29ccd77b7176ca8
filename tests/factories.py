"""Small wire-model builders shared by tests (and benchmarks): a stored-looking model, a job
around it, and a run of that job. Only the fields a test varies are parameters."""

from __future__ import annotations

from datetime import UTC, datetime

from pomar_core.wire import (
    ComputeUnit,
    DeviceSelector,
    DType,
    InputOrigin,
    InputSet,
    JobSpec,
    ModelFormat,
    ModelRef,
    RunConfig,
    RunSpec,
    SourceKind,
    TensorSpec,
)

FAKE_SHA = "c" * 64
"""An address with nothing behind it: enough for code that never loads the artifact."""


def model_ref(sha256: str = FAKE_SHA) -> ModelRef:
    return ModelRef(
        sha256=sha256,
        format=ModelFormat.MLPACKAGE,
        name="m",
        source_kind=SourceKind.MLPACKAGE,
        specification_version=7,
        model_type="mlProgram",
        inputs=(TensorSpec(name="x", dtype=DType.FLOAT32, shape=(1,)),),
        outputs=(),
    )


def job_spec(
    job_id: str,
    *,
    target: DeviceSelector | None = None,
    config: RunConfig | None = None,
    label: str | None = None,
    at: datetime | None = None,
    inputs_sha256: str = FAKE_SHA,
) -> JobSpec:
    return JobSpec(
        job_id=job_id,
        model=model_ref(),
        inputs=InputSet(sha256=inputs_sha256, origin=InputOrigin.GENERATED, tensors=(), seed=0),
        target=target or DeviceSelector(),
        config=config or RunConfig(),
        submitted_at=at or datetime.now(UTC),
        label=label,
    )


def run_spec(
    job: JobSpec,
    n: int,
    *,
    device_id: str | None = "emulated-0",
    unit: ComputeUnit = ComputeUnit.CPU,
) -> RunSpec:
    return RunSpec(
        run_id=f"{job.job_id}-r{n}",
        job_id=job.job_id,
        device_id=device_id,
        compute_unit=unit,
        model=job.model,
        inputs=job.inputs,
        config=job.config,
    )
