"""The harness protocol: ``job.json`` written by the agent, ``result.json`` written by the app.

Files live under ``Documents/pomar/jobs/<run_id>/`` in the harness app's container (DESIGN,
"The harness protocol"). The Swift ``Codable`` types in ``ios_harness/`` mirror these models
field for field; a conformance test checks them against the JSON Schema generated from here.
Times are integer nanoseconds from a monotonic clock; memory is bytes of ``phys_footprint``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from pomar_core.wire.base import PROTOCOL_VERSION, ComputeUnit, DType, WireModel

HARNESS_ROOT = "pomar"
"""Folder in the app's Documents that holds models and jobs."""


class HarnessTensor(WireModel):
    """A tensor file in the job folder (``inputs/<name>.npy`` or ``outputs/<name>.npy``)."""

    name: str
    file: str
    """Path relative to the job folder."""
    dtype: DType
    shape: tuple[int, ...]
    is_image: bool = False


class HarnessJob(WireModel):
    """``job.json``: what the app must do for one run."""

    protocol: Literal[1] = PROTOCOL_VERSION
    run_id: str
    model_sha256: str
    model_path: str
    """Relative to ``Documents/pomar``: ``models/<sha256>/model.mlmodelc`` or ``.mlpackage``."""
    compute_unit: ComputeUnit
    low_precision_accumulation_on_gpu: bool = False
    warmup: int = Field(ge=0)
    iterations: int = Field(ge=1)
    min_duration_s: float = Field(ge=0)
    max_duration_s: float | None = Field(default=None, gt=0)
    """Stop the timed loop after this long once ``iterations`` are met, even if
    ``min_duration_s`` is not reached (the agent keeps the run inside its timeout). None: no cap."""
    inputs: tuple[HarnessTensor, ...]
    output_names: tuple[str, ...]
    collect_compute_plan: bool = True


class HarnessPhaseMemory(WireModel):
    """``phys_footprint`` around the phases, and what the OS says is still available."""

    before_load_bytes: int
    after_load_bytes: int
    after_predictions_bytes: int
    peak_bytes: int
    available_before_bytes: int | None = None
    """``os_proc_available_memory()`` before loading."""
    available_min_bytes: int | None = None


class HarnessTimings(WireModel):
    """Integer nanoseconds from ``clock_gettime_nsec_np(CLOCK_UPTIME_RAW)``."""

    compile_ns: int | None = None
    """Only when the app compiled an ``.mlpackage`` on device."""
    cold_load_ns: int
    warm_load_ns: int
    first_prediction_ns: int
    warmup_ns: tuple[int, ...]
    prediction_ns: tuple[int, ...]
    compute_plan_ns: int | None = None
    """Loading ``MLComputePlan`` after the timing loop; None when no plan was loaded."""


class HarnessComputePlanOp(WireModel):
    op: str
    op_type: str
    preferred: Literal["cpu", "gpu", "ane", "unknown"]
    supported: tuple[Literal["cpu", "gpu", "ane"], ...]
    cost_weight: float | None = None


class HarnessEnvironment(WireModel):
    """Device state the app observed; the agent refuses to time a hot or low-power device."""

    thermal_state_by_phase: dict[str, Literal["nominal", "fair", "serious", "critical"]]
    low_power_mode: bool
    battery_level: float | None = None
    """0..1, or None when the OS does not say (monitoring off, simulator)."""
    battery_state: Literal["unknown", "unplugged", "charging", "full"] | None = None
    """``UIDevice.batteryState``; None from apps older than this field."""
    os_version: str
    device_model: str
    app_version: str


class HarnessResult(WireModel):
    """``result.json``: what the app measured. Written atomically before the sentinel."""

    protocol: Literal[1] = PROTOCOL_VERSION
    run_id: str
    status: Literal["ok", "error"]
    error: str | None = None
    error_phase: Literal["read_job", "compile", "load", "inputs", "predict", "outputs"] | None = (
        None
    )
    timings: HarnessTimings | None = None
    memory: HarnessPhaseMemory | None = None
    outputs: tuple[HarnessTensor, ...] = ()
    compute_plan: tuple[HarnessComputePlanOp, ...] = ()
    environment: HarnessEnvironment
    warnings: tuple[str, ...] = ()
    """Sentences about a run that still counts, e.g. why ``compute_plan`` is empty."""
