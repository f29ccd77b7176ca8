"""Localisation: which op a failing device got wrong, found by re-running it with intermediate
tensors exposed as extra outputs (``orchestrator.localise``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pomar_core.wire.base import RunStatus, WireModel


class LocalisationStatus(StrEnum):
    RUNNING = "running"
    FOUND = "found"
    """An op takes inputs within FP16 noise and produces an output beyond it."""
    NOT_LOCALISED = "not_localised"
    """No exposed tensor is beyond its FP16 noise: precision loss, no op to blame."""
    BUDGET_EXHAUSTED = "budget_exhausted"
    """The run budget ran out; ``detail`` names the ops still suspected."""
    CANCELLED = "cancelled"
    ERROR = "error"

    @property
    def finished(self) -> bool:
        return self is not LocalisationStatus.RUNNING


class TensorError(WireModel):
    """One MIL variable on the device against the emulator's fp32 run of the same program."""

    name: str
    error: float
    """Relative L2 of the device's value against the fp32 trace."""
    noise: float
    """The FP16 noise: relative L2 of the emulator's fp16 runs (half storage, and half
    accumulation too) against its fp32 run, the larger of the two."""
    diverged: bool
    """Beyond ``AS_FAR_OFF`` × its noise (or NaN/Inf where fp32 is finite)."""


class Culprit(WireModel):
    """The first op whose output diverges while its inputs do not."""

    op: str
    """The MIL variable the op produces (Core ML names ops by their outputs)."""
    op_type: str
    inputs: tuple[TensorError, ...]
    output: TensorError
    fused_with: tuple[str, ...] = ()
    """Ops that could not be cut apart from it (a fusible pair such as add → relu): the
    divergence is somewhere in this group, named by its last op."""
    source_module: str | None = None
    """The source model's module path (``layer2.0.relu``), when the converter kept it."""


class Probe(WireModel):
    """One device run of a variant exposing the tensors cut at ``position``."""

    job_id: str
    position: int
    """Index of the cut in the program's op order (the tensors alive after that op)."""
    exposed: tuple[str, ...]
    run_status: RunStatus | None = None
    errors: tuple[TensorError, ...] = ()
    diverged: bool | None = None
    """None while the run is in flight."""
    split: bool = False
    """A last run exposing the inside of a fused group (breaking the fusion on purpose)."""


class Localisation(WireModel):
    """The state and outcome of localising one failing run; attached to that run's result."""

    run_id: str
    status: LocalisationStatus
    max_runs: int
    ops: int
    """Ops in the program's order (constants excluded)."""
    cuts: int
    """Cut points the search could use (positions the compiler cannot fuse across)."""
    lo: int
    """Cut index known clean (-1: the inputs)."""
    hi: int
    """Cut index known to diverge (the last one: the outputs)."""
    outputs: tuple[TensorError, ...] = ()
    """The failing run's own outputs against the traces (no device run needed)."""
    probes: tuple[Probe, ...] = ()
    culprit: Culprit | None = None
    detail: str = ""
    traces_sha256: str | None = None
    """The emulator's fp32 and fp16 values of every cut tensor (an ``.npz`` artifact)."""
    started_at: datetime
    finished_at: datetime | None = None

    @property
    def device_runs(self) -> int:
        return len(self.probes)


class ProbeOf(WireModel):
    """What a probe job is: the failing run it localises and the cut it exposes."""

    run_id: str
    position: int
    exposed: tuple[str, ...]
