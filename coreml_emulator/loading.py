"""From a coremltools ``MLModel`` or a path to the MIL program the emulator runs.

All coremltools calls that can fail on a bad model live here and become ``ModelError``s.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pomar_core.errors import ModelError

# FeatureType.ArrayFeatureType.ArrayDataType values (Model.proto).
_ARRAY_DTYPES: dict[int, np.dtype[Any]] = {
    65568: np.dtype(np.float32),
    65552: np.dtype(np.float16),
    65600: np.dtype(np.float64),
    131104: np.dtype(np.int32),
    131080: np.dtype(np.int8),
}


@dataclass(frozen=True)
class FeatureSpec:
    """One input or output of the model as its spec declares it."""

    name: str
    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    """Default shape from the spec (may be empty for outputs)."""
    flexible: bool
    """The spec allows other shapes (enumerated or ranged)."""
    ranges: tuple[tuple[int, int | None], ...] = ()
    """Per dimension ``(lower, upper)`` of a ranged input (``upper`` ``None``: unbounded)."""
    enumerated: tuple[tuple[int, ...], ...] = ()
    """The shapes an enumerated-shape input may take."""

    def shape_error(self, shape: tuple[int, ...]) -> str | None:
        """Why ``shape`` is outside the declared flexible shape, or ``None`` if it is allowed."""
        if self.enumerated and shape not in self.enumerated:
            allowed = ", ".join(str(s) for s in self.enumerated)
            return f"shape {shape} is not one of the enumerated shapes {allowed}"
        if self.ranges:
            if len(shape) != len(self.ranges):
                return f"shape {shape} has rank {len(shape)}, the model expects {len(self.ranges)}"
            for axis, (size, (low, high)) in enumerate(zip(shape, self.ranges, strict=True)):
                if size < low or (high is not None and size > high):
                    bound = f"{low}..{high}" if high is not None else f"{low} or more"
                    return f"dimension {axis} is {size}, the model accepts {bound}"
        return None


@dataclass(frozen=True)
class LoadedModel:
    """The parsed program and the model's declared interface."""

    program: Any
    """A coremltools MIL ``Program``."""
    function: Any
    """Its ``main`` function."""
    inputs: tuple[FeatureSpec, ...]
    outputs: tuple[FeatureSpec, ...]
    specification_version: int


def load_model(model: Any) -> LoadedModel:
    """Parse ``model`` (an ``MLModel``, or a path to an ``.mlpackage``/``.mlmodel``)."""
    import coremltools as ct
    from coremltools.converters.mil.frontend.milproto.load import load as load_milproto

    if isinstance(model, str | Path):
        path = Path(model)
        if not path.exists():
            raise ModelError(f"model not found: {path}", hint="check the path")
        try:
            with _quiet():
                model = ct.models.MLModel(str(path), skip_model_load=True)
        except Exception as exc:  # coremltools raises bare Exceptions for corrupt files
            raise ModelError(
                f"cannot read Core ML model {path}: {_first_line(exc)}",
                hint="pass an intact .mlpackage directory or .mlmodel file",
            ) from exc
    if not isinstance(model, ct.models.MLModel):
        raise ModelError(
            f"expected a Core ML model or a path, got {type(model).__name__}",
            hint="pass a coremltools MLModel or the path of an .mlpackage",
        )
    spec = model.get_spec()
    kind = spec.WhichOneof("Type")
    if kind != "mlProgram":
        raise ModelError(
            f"the emulator runs ML programs only; this model is a '{kind}'",
            hint="convert with convert_to='mlprogram' (minimum_deployment_target iOS15 or later)",
        )
    try:
        with _quiet():
            program = load_milproto(spec, spec.specificationVersion, model.weights_dir or "")
    except Exception as exc:
        raise ModelError(
            f"cannot parse the ML program: {_first_line(exc)}",
            hint="re-save the model with coremltools 9 or check that its weights are present",
        ) from exc
    if "main" not in program.functions:
        raise ModelError(
            "the ML program has no 'main' function",
            hint="multifunction models are not supported by the emulator yet",
        )
    inputs = tuple(_feature(f, "input") for f in spec.description.input)
    outputs = tuple(_feature(f, "output") for f in spec.description.output)
    return LoadedModel(
        program, program.functions["main"], inputs, outputs, spec.specificationVersion
    )


_GRAYSCALE, _GRAYSCALE_FLOAT16 = 10, 40
"""``ImageFeatureType.ColorSpace`` values with one channel (RGB and BGR have three)."""


def _image_input(feature: Any) -> FeatureSpec:
    """An image input as the program sees it: pixel values 0..255 as a (1, C, H, W) tensor in
    the image's channel order; the model's own scale and bias ops follow in the program."""
    image = feature.type.imageType
    space = int(image.colorSpace)
    channels = 1 if space in (_GRAYSCALE, _GRAYSCALE_FLOAT16) else 3
    dtype = np.dtype(np.float16 if space == _GRAYSCALE_FLOAT16 else np.float32)
    flexible = image.WhichOneof("SizeFlexibility") is not None
    return FeatureSpec(
        feature.name, dtype, (1, channels, int(image.height), int(image.width)), flexible
    )


def _feature(feature: Any, role: str) -> FeatureSpec:
    kind = feature.type.WhichOneof("Type")
    if kind == "imageType" and role == "input":
        return _image_input(feature)
    if kind != "multiArrayType":
        raise ModelError(
            f"{role} '{feature.name}' is a {kind}; the emulator takes multi-array and image "
            "inputs and multi-array outputs",
            hint="convert with ct.TensorType outputs",
        )
    array = feature.type.multiArrayType
    dtype = _ARRAY_DTYPES.get(array.dataType)
    if dtype is None:
        raise ModelError(f"{role} '{feature.name}' has an unsupported data type {array.dataType}")
    flexibility = array.WhichOneof("ShapeFlexibility")
    ranges: tuple[tuple[int, int | None], ...] = ()
    enumerated: tuple[tuple[int, ...], ...] = ()
    if flexibility == "shapeRange":
        ranges = tuple(
            (int(r.lowerBound), int(r.upperBound) if r.upperBound >= 0 else None)
            for r in array.shapeRange.sizeRanges
        )
    elif flexibility == "enumeratedShapes":
        enumerated = tuple(tuple(int(d) for d in s.shape) for s in array.enumeratedShapes.shapes)
    return FeatureSpec(
        feature.name,
        dtype,
        tuple(int(d) for d in array.shape),
        flexibility is not None,
        ranges,
        enumerated,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def _quiet() -> Any:
    """Silence coremltools' progress output while it parses (it logs at INFO and prints)."""
    logger = logging.getLogger("coremltools")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
