"""The base of every wire model, and the small value types they share."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

PROTOCOL_VERSION: Literal[1] = 1
"""Version of every message that crosses a process (Celery, harness files, JSON reports)."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
"""A lowercase hex sha256: the content address of an artifact."""


class WireModel(BaseModel):
    """Frozen, strict about unknown fields, JSON round-trippable."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="strings")


class Precision(StrEnum):
    """Compute precision of a converted model or an emulator run."""

    FP32 = "fp32"
    FP16 = "fp16"


class ComputeUnit(StrEnum):
    """Core ML compute units, as Pomar names them (``MLComputeUnits`` on device)."""

    CPU = "cpu"  # .cpuOnly
    GPU = "gpu"  # .cpuAndGPU
    ANE = "ane"  # .cpuAndNeuralEngine
    ALL = "all"  # .all


class DType(StrEnum):
    """Tensor element types that Core ML models take and return."""

    FLOAT16 = "float16"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    INT32 = "int32"
    INT8 = "int8"
    UINT8 = "uint8"
    BOOL = "bool"


class RunStatus(StrEnum):
    """Where a run is, or how it ended (DESIGN, "Nouns")."""

    QUEUED = "queued"
    RUNNING = "running"
    PASSED = "passed"
    PARITY_FAILED = "parity_failed"
    BUDGET_FAILED = "budget_failed"
    OOM_KILLED = "oom_killed"
    CRASHED = "crashed"
    TIMEOUT = "timeout"
    DEVICE_LOST = "device_lost"
    ERROR = "error"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)

    @property
    def is_infrastructure_failure(self) -> bool:
        """Failures of the farm, retried on another device; model failures are results."""
        return self in (RunStatus.DEVICE_LOST, RunStatus.TIMEOUT)
