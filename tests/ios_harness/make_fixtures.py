"""Write the golden fixtures in ``ios_harness/fixtures/``.

Run ``python -m tests.ios_harness.make_fixtures`` after changing a fixture on purpose; the Python
and Swift tests both read these files, so commit the result.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from pomar_core.wire.harness import HarnessJob, HarnessResult
from tests.ios_harness.npy_format import npy_bytes

FIXTURES = Path(__file__).resolve().parents[2] / "ios_harness" / "fixtures"
MODEL_SHA = "3f" * 32

# The arrays written in the app's own format: one per dtype the app writes most.
APP_ARRAYS: dict[str, np.ndarray] = {
    "float32_2x3.npy": (np.arange(6, dtype="<f4").reshape(2, 3) * 0.5 - 1.0),
    "float16_1x4.npy": np.array([[1.0, -2.5, 65504.0, 0.000061035156]], dtype="<f2"),
    "int32_5.npy": np.array([0, 1, -2, 2147483647, -2147483648], dtype="<i4"),
}

# Files numpy writes that the app must read: big-endian, Fortran order.
READER_ARRAYS: dict[str, tuple[np.ndarray, bool]] = {
    "float32_be_2x2.npy": (np.array([[1.5, -2.0], [3.25, 4.0]], dtype=">f4"), False),
    "float64_fortran_2x3.npy": (np.arange(6, dtype="<f8").reshape(2, 3), True),
}


def job() -> HarnessJob:
    return HarnessJob(
        run_id="run-0001",
        model_sha256=MODEL_SHA,
        model_path=f"models/{MODEL_SHA}/model.mlmodelc",
        compute_unit="ane",
        low_precision_accumulation_on_gpu=False,
        warmup=3,
        iterations=10,
        min_duration_s=0.5,
        max_duration_s=30.0,
        inputs=({"name": "x", "file": "inputs/x.npy", "dtype": "float32", "shape": (2, 3)},),
        output_names=("y",),
        collect_compute_plan=True,
    )


def environment() -> dict[str, object]:
    return {
        "thermal_state_by_phase": {"start": "nominal", "load": "nominal", "predictions": "fair"},
        "low_power_mode": False,
        "battery_level": 0.82,
        "battery_state": "charging",
        "os_version": "17.5.1",
        "device_model": "iPhone15,2",
        "app_version": "0.1.0 (1)",
    }


def result_ok() -> HarnessResult:
    return HarnessResult.model_validate(
        {
            "run_id": "run-0001",
            "status": "ok",
            "timings": {
                "compile_ns": None,
                "cold_load_ns": 812_400_000,
                "warm_load_ns": 95_100_000,
                "first_prediction_ns": 14_200_000,
                "warmup_ns": [2_100_000, 1_900_000, 1_850_000],
                "prediction_ns": [
                    1_810_000,
                    1_790_000,
                    1_805_000,
                    1_820_000,
                    1_795_000,
                    1_800_000,
                    1_799_000,
                    1_802_000,
                    1_811_000,
                    1_798_000,
                ],
                "compute_plan_ns": 230_500_000,
            },
            "memory": {
                "before_load_bytes": 21_000_000,
                "after_load_bytes": 48_500_000,
                "after_predictions_bytes": 49_000_000,
                "peak_bytes": 61_250_000,
                "available_before_bytes": 2_900_000_000,
                "available_min_bytes": 2_860_000_000,
            },
            "outputs": [
                {"name": "y", "file": "outputs/y.npy", "dtype": "float16", "shape": [1, 4]},
            ],
            "compute_plan": [
                {
                    "op": "main/0/y_cast",
                    "op_type": "cast",
                    "preferred": "cpu",
                    "supported": ["cpu"],
                    "cost_weight": 0.01,
                },
                {
                    "op": "main/0/linear_0",
                    "op_type": "linear",
                    "preferred": "ane",
                    "supported": ["cpu", "gpu", "ane"],
                    "cost_weight": 0.99,
                },
                {
                    "op": "main/0/const_1",
                    "op_type": "const",
                    "preferred": "unknown",
                    "supported": [],
                },
            ],
            "environment": environment(),
        }
    )


def result_no_plan() -> HarnessResult:
    """An iOS 16 phone: no MLComputePlan, and the app says why in ``warnings``."""
    ok = result_ok()
    assert ok.timings is not None
    return ok.model_copy(
        update={
            "run_id": "run-0003",
            "timings": ok.timings.model_copy(update={"compute_plan_ns": None}),
            "compute_plan": (),
            "environment": ok.environment.model_copy(
                update={"os_version": "16.7.8", "battery_state": "unplugged"}
            ),
            "warnings": ("compute plan: needs iOS 17.4, this is 16.7.8",),
        }
    )


def result_failed() -> HarnessResult:
    return HarnessResult.model_validate(
        {
            "run_id": "run-0002",
            "status": "error",
            "error": "load: the model needs iOS 17 (specification version 8)",
            "error_phase": "load",
            "environment": environment() | {"battery_level": None},
        }
    )


def write_json(path: Path, text: str) -> None:
    path.write_text(json.dumps(json.loads(text), indent=2) + "\n")


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    write_json(FIXTURES / "job.json", job().model_dump_json())
    write_json(FIXTURES / "result_ok.json", result_ok().model_dump_json(exclude_none=True))
    write_json(FIXTURES / "result_failed.json", result_failed().model_dump_json(exclude_none=True))
    write_json(
        FIXTURES / "result_no_plan.json", result_no_plan().model_dump_json(exclude_none=True)
    )
    for name, array in APP_ARRAYS.items():
        dtype = array.dtype.name  # "float32": the byte order is always little here
        (FIXTURES / name).write_bytes(npy_bytes(dtype, array.shape, array.tobytes(order="C")))
    for name, (array, fortran) in READER_ARRAYS.items():
        buffer = io.BytesIO()
        np.save(buffer, np.asfortranarray(array) if fortran else array, allow_pickle=False)
        (FIXTURES / name).write_bytes(buffer.getvalue())


if __name__ == "__main__":
    main()
