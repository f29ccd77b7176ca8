"""What a model is on the wire: its content address, where it came from, and its interface."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from pomar_core.wire.base import DType, Precision, Sha256, WireModel


class ModelFormat(StrEnum):
    """The Core ML container a converted model is stored in."""

    MLPACKAGE = "mlpackage"
    MLMODEL = "mlmodel"


class SourceKind(StrEnum):
    """What the user handed Pomar."""

    MLPACKAGE = "mlpackage"
    MLMODEL = "mlmodel"
    TORCHSCRIPT = "torchscript"
    TORCH_EXPORT = "torch_export"
    FACTORY = "factory"


class TensorSpec(WireModel):
    """One model input or output, read from the Core ML spec."""

    name: str
    dtype: DType
    shape: tuple[int, ...]
    """Default (or only) shape."""
    shape_range: tuple[tuple[int, int], ...] | None = None
    """Per-dimension (lower, upper) for range-flexible inputs; upper -1 means unbounded."""
    enumerated_shapes: tuple[tuple[int, ...], ...] | None = None
    """The allowed shapes of an enumerated-flexible input."""
    is_image: bool = False

    @property
    def flexible(self) -> bool:
        return self.shape_range is not None or self.enumerated_shapes is not None


class ModelRef(WireModel):
    """A Core ML model in the artifact store, and what is known about it."""

    sha256: Sha256
    """Content address of the stored Core ML model (a zip of an .mlpackage, or the .mlmodel)."""
    format: ModelFormat
    name: str
    """Display name: the file or factory the user gave."""
    source_kind: SourceKind
    source_sha256: Sha256 | None = None
    """Content address of the source model when Pomar converted it."""
    precision: Precision | None = None
    """Compute precision the model was converted with, when known."""
    deployment_target: str | None = None
    """Minimum deployment target, e.g. ``iOS16``."""
    specification_version: int
    model_type: str
    """``mlProgram``, ``neuralNetwork``, ``pipeline``…"""
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    ops: tuple[str, ...] = Field(default=())
    """Op types of the main function in program order (ML programs only)."""
    converter_shims: tuple[str, ...] = ()
    """Pomar's converter shims the conversion needed (none: plain coremltools converted it)."""
