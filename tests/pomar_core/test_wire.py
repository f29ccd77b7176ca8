from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from pomar_core.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    DType,
    InputOrigin,
    InputSet,
    JobSpec,
    LatencyStats,
    ModelFormat,
    ModelRef,
    OutputMetrics,
    RunResult,
    RunStatus,
    SourceKind,
    TensorSpec,
)

SHA = "a" * 64


def _model() -> ModelRef:
    return ModelRef(
        sha256=SHA,
        format=ModelFormat.MLPACKAGE,
        name="cnn",
        source_kind=SourceKind.FACTORY,
        specification_version=7,
        model_type="mlProgram",
        inputs=(TensorSpec(name="x", dtype=DType.FLOAT32, shape=(1, 3, 8, 8)),),
        outputs=(TensorSpec(name="y", dtype=DType.FLOAT16, shape=(1, 10)),),
    )


def test_job_spec_round_trips_through_json() -> None:
    job = JobSpec(
        job_id="j1",
        model=_model(),
        inputs=InputSet(sha256=SHA, origin=InputOrigin.GENERATED, tensors=(), seed=0),
        submitted_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert JobSpec.model_validate_json(job.model_dump_json()) == job


def test_wire_models_reject_unknown_fields_and_are_frozen() -> None:
    with pytest.raises(ValidationError):
        TensorSpec.model_validate({"name": "x", "dtype": "float32", "shape": [1], "bogus": 1})
    spec = TensorSpec(name="x", dtype=DType.FLOAT32, shape=(1,))
    with pytest.raises(ValidationError):
        spec.name = "y"  # type: ignore[misc]


def test_infinite_metrics_survive_a_json_round_trip() -> None:
    metrics = OutputMetrics(max_abs_error=math.inf, psnr_db=-math.inf)
    back = OutputMetrics.model_validate_json(metrics.model_dump_json())
    assert back.max_abs_error == math.inf
    assert back.psnr_db == -math.inf


def test_latency_percentiles_interpolate_between_samples() -> None:
    stats = LatencyStats.from_samples([4.0, 1.0, 3.0, 2.0])
    assert stats.p50_ms == pytest.approx(2.5)
    assert stats.min_ms == 1.0
    assert stats.max_ms == 4.0
    assert stats.samples_ms == (4.0, 1.0, 3.0, 2.0)


def test_run_result_statuses_match_the_design() -> None:
    assert {s.value for s in RunStatus} == {
        "queued",
        "running",
        "passed",
        "parity_failed",
        "budget_failed",
        "oom_killed",
        "crashed",
        "timeout",
        "device_lost",
        "error",
        "cancelled",
    }
    result = RunResult(
        run_id="r1",
        job_id="j1",
        device=DeviceInfo(
            udid="emulated-0",
            kind=DeviceKind.EMULATED,
            product_type="Emulator",
            marketing_name="Pomar emulator",
        ),
        compute_unit=ComputeUnit.CPU,
        status=RunStatus.PASSED,
    )
    assert RunResult.model_validate_json(result.model_dump_json()) == result
