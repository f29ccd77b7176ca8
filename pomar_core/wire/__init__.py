"""Wire models: frozen pydantic data that crosses processes. No Celery, Redis, SQLAlchemy or
pymobiledevice3 here; these models never save themselves."""

from pomar_core.wire.base import (
    PROTOCOL_VERSION,
    ComputeUnit,
    DType,
    Precision,
    RunStatus,
    Sha256,
    WireModel,
)
from pomar_core.wire.device import DeviceInfo, DeviceKind, DeviceState, Heartbeat, device_pools
from pomar_core.wire.harness import HarnessJob, HarnessResult, HarnessTensor
from pomar_core.wire.job import (
    Budgets,
    DeviceSelector,
    InputOrigin,
    InputSet,
    JobSpec,
    NonFiniteOp,
    Reference,
    ReferenceKind,
    RunConfig,
    RunSpec,
)
from pomar_core.wire.model import ModelFormat, ModelRef, SourceKind, TensorSpec
from pomar_core.wire.parity import (
    OutputMetrics,
    OutputParity,
    ParityReport,
    TriageLabel,
    Verdict,
)
from pomar_core.wire.result import (
    ComputePlanEntry,
    LatencyStats,
    MemoryStats,
    OutputRef,
    RunEnvironment,
    RunResult,
    Timings,
)

__all__ = [
    "PROTOCOL_VERSION",
    "Budgets",
    "ComputePlanEntry",
    "ComputeUnit",
    "DType",
    "DeviceInfo",
    "DeviceKind",
    "DeviceSelector",
    "DeviceState",
    "HarnessJob",
    "HarnessResult",
    "HarnessTensor",
    "Heartbeat",
    "InputOrigin",
    "InputSet",
    "JobSpec",
    "LatencyStats",
    "MemoryStats",
    "ModelFormat",
    "ModelRef",
    "NonFiniteOp",
    "OutputMetrics",
    "OutputParity",
    "OutputRef",
    "ParityReport",
    "Precision",
    "Reference",
    "ReferenceKind",
    "RunConfig",
    "RunEnvironment",
    "RunResult",
    "RunSpec",
    "RunStatus",
    "Sha256",
    "SourceKind",
    "TensorSpec",
    "Timings",
    "TriageLabel",
    "Verdict",
    "WireModel",
    "device_pools",
]
