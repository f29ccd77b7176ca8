"""The preflight report: frozen data, JSON round-trippable, rendered by ``render.py``.

Severity is a promise about the device run: ``error`` means it *will* fail (the model does not
convert, the app will be killed, Core ML will refuse to load it), so ``pomar preflight`` exits 1
and ``pomar check`` refuses the job; ``warning`` means it is likely to go wrong or be slow;
``info`` is context.
"""

from __future__ import annotations

from enum import StrEnum

from pomar_core.wire import Precision, TensorSpec, WireModel


class Severity(StrEnum):
    """How bad a finding is for the device run."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    """It will fail: blocks ``pomar check`` and makes ``pomar preflight`` exit 1."""


class Finding(WireModel):
    """One thing preflight noticed."""

    id: str
    """Stable identifier, ``<area>.<name>``: ``convert.unsupported-op``, ``pitfall.softplus``…"""
    severity: Severity
    message: str
    source: str | None = None
    """The public issue or document the rule comes from (a URL)."""
    op: str | None = None
    """Where: a MIL variable (the op's first output) or a torch module path."""
    hint: str | None = None
    """What usually helps."""


class UnsupportedTorchOp(WireModel):
    """A torch op that no coremltools converter handles, and where the model uses it."""

    op: str
    """The op as coremltools looks it up, e.g. ``lgamma``."""
    count: int
    module_paths: tuple[str, ...]
    """Module paths (``encoder.layers.3.act``) of the calls; ``""`` is the top module."""


class ConversionAttempt(WireModel):
    """One conversion: a front end at a deployment target."""

    front_end: str
    """``torchscript`` or ``torch_export``."""
    deployment_target: str
    converted: bool
    error: str | None = None
    unsupported_ops: tuple[UnsupportedTorchOp, ...] = ()
    shims: tuple[str, ...] = ()
    """Converter shims the conversion needed (none when plain coremltools converts it)."""


class OpCount(WireModel):
    op_type: str
    count: int


class WeightGroup(WireModel):
    """Weights sharing a storage dtype and a compression scheme."""

    dtype: str
    """Storage dtype as written in ``weight.bin`` (``fp16``, ``uint4``, ``int8``…)."""
    compression: str
    """``none``, or the constexpr op that decodes it (``constexpr_lut_to_dense``…)."""
    tensors: int
    stored_bytes: int
    """Bytes on disk (packed for sub-byte types)."""
    decompressed_bytes: int
    """Bytes once decoded at the op's output dtype."""


class Inventory(WireModel):
    """What the ML program is made of."""

    model_type: str
    specification_version: int
    deployment_target: str | None
    precision: Precision | None
    ops: tuple[OpCount, ...]
    """Op types by count, most frequent first; ``const`` and ``constexpr_*`` excluded."""
    parameters: int
    """Elements in weight tensors (after decompression)."""
    weights: tuple[WeightGroup, ...]
    weight_bytes: int
    """Stored weight bytes (sum of ``weights[].stored_bytes``)."""
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


class MemoryVerdict(StrEnum):
    FITS = "fits"
    TIGHT = "tight"
    KILLED = "will be killed"


class DeviceMemory(WireModel):
    """The estimate against one iPhone product type's per-app limit."""

    product_type: str
    marketing_name: str
    ram_bytes: int
    limit_bytes: int
    share: float
    """Estimate divided by the limit."""
    verdict: MemoryVerdict


class MemoryEstimate(WireModel):
    """Weights plus peak live activations of one prediction, at the run's precision."""

    precision: str
    input_shapes: tuple[tuple[str, tuple[int, ...]], ...]
    """The shapes the estimate is for (the largest allowed, for flexible inputs)."""
    weight_bytes: int
    peak_activation_bytes: int
    peak_op: str | None
    devices: tuple[DeviceMemory, ...]

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.peak_activation_bytes


class RangeRisk(WireModel):
    """A tensor (or a reduction inside an op) that half precision cannot hold."""

    op: str
    """The MIL variable."""
    op_type: str
    kind: str
    """``overflow`` (|x| > 65504), ``partial-sum`` (a reduction's running sum overflows),
    ``underflow`` (most non-zero values flush to zero), ``non-finite`` (already Inf/NaN)."""
    value: float
    """The largest magnitude (or partial sum); the smallest non-zero magnitude for underflow."""
    factor: float
    """How far over the half range (value / 65504); for underflow, the share that flushes."""


class PreflightReport(WireModel):
    """Everything ``pomar preflight`` found about one model."""

    model: str
    precision: Precision
    versions: tuple[tuple[str, str], ...]
    """(package, version) of coremltools, torch, numpy used."""
    conversions: tuple[ConversionAttempt, ...] = ()
    inventory: Inventory | None = None
    memory: MemoryEstimate | None = None
    ranges: tuple[RangeRisk, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """Findings that say the device run will fail."""
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def exit_code(self) -> int:
        """0 nothing blocks, 1 something will fail (bad input raises and exits 2)."""
        return 1 if self.blocking else 0

    @property
    def refusal_reason(self) -> str | None:
        """One line: why a job with this model cannot succeed, or None."""
        blocking = self.blocking
        if not blocking:
            return None
        more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
        return f"preflight: {' '.join(blocking[0].message.split())}{more}"
