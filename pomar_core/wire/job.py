"""Jobs and runs: what the user asked for, and the unit of work a device executes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from pomar_core.wire.base import (
    PROTOCOL_VERSION,
    ComputeUnit,
    Precision,
    Sha256,
    WireModel,
)
from pomar_core.wire.localisation import ProbeOf
from pomar_core.wire.model import ModelRef, TensorSpec


class InputOrigin(StrEnum):
    FILE = "file"
    GENERATED = "generated"


class InputSet(WireModel):
    """Named input tensors, stored as one ``.npz`` artifact."""

    sha256: Sha256
    origin: InputOrigin
    tensors: tuple[TensorSpec, ...]
    """Name, dtype and shape of each tensor as stored."""
    seed: int | None = None
    """Seed used to generate the tensors (``origin == generated``)."""
    source_name: str | None = None
    """The file the user gave (``origin == file``)."""
    warnings: tuple[str, ...] = ()
    """E.g. NaN in the inputs; carried into every report."""


class ReferenceKind(StrEnum):
    """What produced a set of desktop outputs."""

    SOURCE_FP32 = "source_fp32"
    """The source framework (PyTorch) in fp32."""
    EMULATOR_FP32 = "emulator_fp32"
    """Pomar's emulator running the Core ML program in fp32 (no source model given)."""
    EMULATOR_FP16 = "emulator_fp16"
    """Pomar's emulator running the Core ML program in fp16: the desktop FP16 run that triage
    compares a device with."""


class NonFiniteOp(WireModel):
    """An op whose output held NaN or Inf in an emulated run (and not in the fp32 run)."""

    name: str
    """The MIL variable the op produced."""
    op_type: str
    nan: int
    inf: int


class Reference(WireModel):
    """Desktop reference outputs for an input set, stored as one ``.npz`` artifact."""

    sha256: Sha256
    kind: ReferenceKind
    outputs: tuple[TensorSpec, ...]
    description: str
    """One line a report can print: what the reference is and why."""
    nonfinite_ops: tuple[NonFiniteOp, ...] = ()
    """For an emulated fp16 run: ops that produced NaN/Inf where fp32 did not, in op order."""


class Budgets(WireModel):
    """Optional latency and memory budgets; exceeding one is ``budget_failed``."""

    p50_ms: float | None = None
    p90_ms: float | None = None
    peak_memory_bytes: int | None = None
    peak_memory_share_of_ram: float | None = Field(default=None, gt=0, le=1)


class RunConfig(WireModel):
    """How to run: the part of a job that is the same for every device."""

    compute_units: tuple[ComputeUnit, ...] = (ComputeUnit.ALL,)
    precision: Precision = Precision.FP16
    """Emulated precision where the device has a choice (the emulator); on a real device the
    model's own precision and the compute unit decide."""
    warmup: int = Field(default=3, ge=0)
    iterations: int = Field(default=10, ge=1)
    min_duration_s: float = Field(default=0.0, ge=0)
    timeout_s: float = Field(default=600.0, gt=0)
    tolerance: str = "default"
    """A preset name, or the content of a tolerance TOML file."""
    budgets: Budgets = Budgets()
    low_precision_accumulation_on_gpu: bool = False


class DeviceSelector(WireModel):
    """Which devices a job targets. Empty fields match anything; ``kind`` narrows backends."""

    device_ids: tuple[str, ...] = ()
    pools: tuple[str, ...] = ()
    kinds: tuple[Literal["ios", "mac", "emulated"], ...] = ()
    min_os_version: str | None = None
    max_os_version: str | None = None
    every_pool_once: bool = False


class JobSpec(WireModel):
    """Model + inputs + targets + run config. Expands into one run per (device, compute unit)."""

    protocol: Literal[1] = PROTOCOL_VERSION
    job_id: str
    model: ModelRef
    inputs: InputSet
    reference: Reference | None = None
    desktop_fp16: Reference | None = None
    """The emulator's fp16 run of the same program, for triage (None when unavailable)."""
    target: DeviceSelector = DeviceSelector()
    config: RunConfig = RunConfig()
    priority: int = Field(default=5, ge=0, le=9)
    submitted_at: datetime
    submitted_by: str | None = None
    label: str | None = None
    converter: str | None = None
    """The converter that made or read the model, e.g. ``coremltools 8.3.0``: a change is
    called out in a series, like an OS update."""
    probe_of: ProbeOf | None = None
    """Set on a localisation probe: the failing run it re-runs with intermediates exposed."""


class RunSpec(WireModel):
    """One (device, compute unit) run: the Celery message an agent receives.

    Models, inputs and outputs travel by content address, never inside the message.
    """

    protocol: Literal[1] = PROTOCOL_VERSION
    run_id: str
    job_id: str
    device_id: str | None = None
    """A specific device, or None for any device of the queue it was routed to."""
    compute_unit: ComputeUnit
    model: ModelRef
    inputs: InputSet
    config: RunConfig
    attempt: int = Field(default=1, ge=1)
