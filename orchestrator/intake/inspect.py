"""Read a Core ML model's interface from its spec, on any OS.

Names, shapes and dtypes come from ``spec.description`` and nowhere else: the converter picks
different I/O dtypes by front end and deployment target (fp16 I/O for a traced model at iOS16,
fp32 in, fp16 out through torch.export…), so assuming float32 would be wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.intake.quiet import coremltools, first_line
from pomar_core.errors import ModelError
from pomar_core.wire import DType, Precision, TensorSpec

# ArrayFeatureType.ArrayDataType enum values (FeatureTypes.proto).
_ARRAY_DTYPES = {
    65568: DType.FLOAT32,
    65552: DType.FLOAT16,
    65600: DType.FLOAT64,
    131104: DType.INT32,
    131080: DType.INT8,
}
# ImageFeatureType.ColorSpace: GRAYSCALE=10, RGB=20, BGR=30, GRAYSCALE_FLOAT16=40.
_IMAGE_CHANNELS = {10: 1, 20: 3, 30: 3, 40: 1}
# Core ML specification version → the oldest OS that runs it (coremltools' ct.target values).
_SPEC_TARGETS = {
    4: "iOS13",
    5: "iOS14",
    6: "iOS15",
    7: "iOS16",
    8: "iOS17",
    9: "iOS18",
    10: "iOS26",
}
# MIL tensor dtypes in ML program protos (MIL.proto DataType): FLOAT16=10, FLOAT32=11.
_MIL_FLOAT16 = 10

_CORRUPT_HINT = "re-export or re-download the model; a copy interrupted mid-way looks like this"


@dataclass(frozen=True)
class ModelInterface:
    """What the spec says about a model; the inspectable part of a ``ModelRef``."""

    specification_version: int
    model_type: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    ops: tuple[str, ...]
    precision: Precision | None
    deployment_target: str | None


def load_spec(path: Path, name: str) -> Any:
    """The protobuf spec of an ``.mlpackage`` or ``.mlmodel``; :class:`ModelError` if unreadable."""
    ct = coremltools()
    try:
        spec = ct.utils.load_spec(str(path))
    except Exception as exc:  # coremltools raises bare Exception/RuntimeError/DecodeError
        raise ModelError(
            f"{name} is not a readable Core ML model ({first_line(exc)})", hint=_CORRUPT_HINT
        ) from exc
    if spec.WhichOneof("Type") is None or spec.specificationVersion <= 0:
        raise ModelError(f"{name} is not a Core ML model (empty spec)", hint=_CORRUPT_HINT)
    return spec


def inspect_model(path: Path, name: str | None = None) -> ModelInterface:
    """Inspect the Core ML model at ``path`` (an ``.mlpackage`` directory or ``.mlmodel``)."""
    name = name or str(path)
    spec = load_spec(path, name)
    model_type = str(spec.WhichOneof("Type"))
    inputs = tuple(_feature(f, name, "input") for f in spec.description.input)
    outputs = tuple(_feature(f, name, "output") for f in spec.description.output)
    if not inputs or not outputs:
        raise ModelError(
            f"{name} declares no {'inputs' if not inputs else 'outputs'}", hint=_CORRUPT_HINT
        )
    ops: tuple[str, ...] = ()
    precision: Precision | None = None
    if model_type == "mlProgram":
        main = _main_block(spec, name)
        ops = tuple(_op_types(main))
        precision = _program_precision(main)
        if path.is_dir():
            _check_weights(main, path, name)
    return ModelInterface(
        specification_version=int(spec.specificationVersion),
        model_type=model_type,
        inputs=inputs,
        outputs=outputs,
        ops=ops,
        precision=precision,
        deployment_target=_SPEC_TARGETS.get(int(spec.specificationVersion)),
    )


def _feature(feature: Any, name: str, role: str) -> TensorSpec:
    kind = feature.type.WhichOneof("Type")
    if kind == "multiArrayType":
        return _array_feature(feature.name, feature.type.multiArrayType, name)
    if kind == "imageType":
        return _image_feature(feature.name, feature.type.imageType)
    raise ModelError(
        f"{name}: {role} '{feature.name}' is a {kind}, which Pomar cannot feed or compare yet",
        hint="convert the model so its inputs and outputs are multi-arrays or images",
    )


def _array_feature(feature_name: str, array: Any, name: str) -> TensorSpec:
    dtype = _ARRAY_DTYPES.get(int(array.dataType))
    if dtype is None:
        raise ModelError(
            f"{name}: '{feature_name}' has an unknown array data type {array.dataType}",
            hint=_CORRUPT_HINT,
        )
    shape = tuple(int(d) for d in array.shape)
    flexibility = array.WhichOneof("ShapeFlexibility")
    shape_range = None
    enumerated = None
    if flexibility == "shapeRange":
        shape_range = tuple(
            (int(r.lowerBound), int(r.upperBound)) for r in array.shapeRange.sizeRanges
        )
        if not shape:
            shape = tuple(low for low, _ in shape_range)
    elif flexibility == "enumeratedShapes":
        enumerated = tuple(tuple(int(d) for d in s.shape) for s in array.enumeratedShapes.shapes)
        if not shape and enumerated:
            shape = enumerated[0]
    return TensorSpec(
        name=feature_name,
        dtype=dtype,
        shape=shape,
        shape_range=shape_range,
        enumerated_shapes=enumerated,
    )


def _image_feature(feature_name: str, image: Any) -> TensorSpec:
    channels = _IMAGE_CHANNELS.get(int(image.colorSpace), 3)
    dtype = DType.FLOAT16 if int(image.colorSpace) == 40 else DType.UINT8
    shape = (1, channels, int(image.height), int(image.width))
    shape_range = None
    enumerated = None
    flexibility = image.WhichOneof("SizeFlexibility")
    if flexibility == "imageSizeRange":
        rng = image.imageSizeRange
        shape_range = (
            (1, 1),
            (channels, channels),
            (int(rng.heightRange.lowerBound), int(rng.heightRange.upperBound)),
            (int(rng.widthRange.lowerBound), int(rng.widthRange.upperBound)),
        )
    elif flexibility == "enumeratedSizes":
        enumerated = tuple(
            (1, channels, int(s.height), int(s.width)) for s in image.enumeratedSizes.sizes
        )
    return TensorSpec(
        name=feature_name,
        dtype=dtype,
        shape=shape,
        shape_range=shape_range,
        enumerated_shapes=enumerated,
        is_image=True,
    )


def _main_block(spec: Any, name: str) -> Any:
    functions = spec.mlProgram.functions
    function_name = spec.description.defaultFunctionName or "main"
    if function_name not in functions:
        raise ModelError(
            f"{name}: the ML program has no '{function_name}' function", hint=_CORRUPT_HINT
        )
    function = functions[function_name]
    block = function.block_specializations.get(function.opset)
    if block is None:
        raise ModelError(
            f"{name}: the ML program has no block for opset {function.opset}", hint=_CORRUPT_HINT
        )
    return block


def _op_types(block: Any) -> list[str]:
    """Op types in program order, nested blocks (cond, while) depth first."""
    types: list[str] = []
    for op in block.operations:
        types.append(str(op.type))
        for nested in op.blocks:
            types.extend(_op_types(nested))
    return types


def _program_precision(block: Any) -> Precision:
    """fp16 when any computing op produces a float16 tensor; fp32 otherwise."""
    for op in block.operations:
        if op.type in ("const", "cast"):
            continue
        for output in op.outputs:
            tensor = output.type.tensorType if output.type.HasField("tensorType") else None
            if tensor is not None and int(tensor.dataType) == _MIL_FLOAT16:
                return Precision.FP16
    return Precision.FP32


def _check_weights(block: Any, package: Path, name: str) -> None:
    """Every weight blob the program points at exists and lies inside its file.

    Cheap (no weight is read), and it turns a truncated ``weight.bin`` into a clear error here
    rather than a crash on a device later.
    """
    sizes: dict[str, int] = {}
    weights_dir = package / "Data" / "com.apple.CoreML" / "weights"
    for op in block.operations:
        for value in op.attributes.values():
            if value.WhichOneof("value") != "blobFileValue":
                continue
            file_name = str(value.blobFileValue.fileName).removeprefix("@model_path/weights/")
            if file_name not in sizes:
                blob = weights_dir / file_name
                sizes[file_name] = blob.stat().st_size if blob.is_file() else -1
            if sizes[file_name] < 0:
                raise ModelError(
                    f"{name} is missing its weights file {file_name}", hint=_CORRUPT_HINT
                )
            if int(value.blobFileValue.offset) >= sizes[file_name]:
                raise ModelError(
                    f"{name}: weights file {file_name} is truncated "
                    f"({sizes[file_name]} bytes, a weight starts at {value.blobFileValue.offset})",
                    hint=_CORRUPT_HINT,
                )
        for nested in op.blocks:
            _check_weights(nested, package, name)
