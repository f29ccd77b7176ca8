"""Wire models: frozen pydantic data that crosses processes. No Celery, Redis, SQLAlchemy or
pymobiledevice3 here; these models never save themselves."""

from orchestrator.wire.base import (
    PROTOCOL_VERSION,
    ComputeUnit,
    DType,
    Precision,
    RunStatus,
    Sha256,
    WireModel,
)
from orchestrator.wire.device import DeviceInfo, DeviceKind
from orchestrator.wire.harness import HarnessJob, HarnessResult, HarnessTensor
from orchestrator.wire.job import (
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
from orchestrator.wire.model import ModelFormat, ModelRef, SourceKind, TensorSpec
from orchestrator.wire.parity import (
    OutputMetrics,
    OutputParity,
    ParityReport,
    TriageLabel,
    Verdict,
)
from orchestrator.wire.result import (
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
    "HarnessJob",
    "HarnessResult",
    "HarnessTensor",
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
]
