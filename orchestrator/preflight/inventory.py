"""What an ML program is made of: ops by type, parameters, weight bytes by dtype and compression.

Weights are the constants the package stores in ``weight.bin`` (coremltools writes a constant
there when it has 10 or more elements; smaller ones are inline parameters such as axes). A
weight that a ``constexpr_*`` op decodes (palettized, quantized, sparse) is counted under that
op, with its packed size on disk and its size once decoded. Everything is read from the spec;
no weight is loaded.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.intake import inspect_model
from orchestrator.intake.inspect import load_spec
from orchestrator.preflight.report import Inventory, OpCount, WeightGroup

_BITS = re.compile(r"(\d+)")


@dataclass(frozen=True)
class _Blob:
    dtype: str
    numel: int
    stored_bytes: int


def take_inventory(path: Path, name: str) -> Inventory:
    """The inventory of the Core ML model at ``path`` (``ModelError`` if unreadable)."""
    interface = inspect_model(path, name)
    ops = Counter(op for op in interface.ops if op != "const" and not op.startswith("constexpr_"))
    groups: dict[tuple[str, str], list[int]] = {}
    parameters = 0
    if interface.model_type == "mlProgram":
        spec = load_spec(path, name)
        blobs: dict[str, _Blob] = {}
        decoders: list[Any] = []
        for op in _operations(_main_block(spec)):
            if op.type == "const" and _is_blob(op):
                blobs[op.outputs[0].name] = _blob_of(op.outputs[0])
            elif str(op.type).startswith("constexpr_"):
                decoders.append(op)
        for op in decoders:
            # iOS16/17 constexpr ops keep their packed data as attributes; iOS18 ones read it
            # from const inputs. Either way it is counted once, here.
            stored = sum(
                _blob_of(value).stored_bytes
                for value in op.attributes.values()
                if value.WhichOneof("value") == "blobFileValue"
            )
            for argument in op.inputs.values():
                for binding in argument.arguments:
                    blob = blobs.pop(binding.name, None)
                    stored += blob.stored_bytes if blob else 0
            for output in op.outputs:
                numel, dtype = _numel(output), _dtype(output)
                parameters += numel
                _add(groups, (dtype, str(op.type)), stored, math.ceil(numel * _bits(dtype) / 8))
                stored = 0  # packed inputs are counted once, against the first output
        for blob in blobs.values():
            parameters += blob.numel
            _add(groups, (blob.dtype, "none"), blob.stored_bytes, blob.stored_bytes)
    weights = tuple(
        WeightGroup(
            dtype=dtype,
            compression=compression,
            tensors=counts[0],
            stored_bytes=counts[1],
            decompressed_bytes=counts[2],
        )
        for (dtype, compression), counts in sorted(groups.items())
    )
    return Inventory(
        model_type=interface.model_type,
        specification_version=interface.specification_version,
        deployment_target=interface.deployment_target,
        precision=interface.precision,
        ops=tuple(OpCount(op_type=t, count=c) for t, c in ops.most_common()),
        parameters=parameters,
        weights=weights,
        weight_bytes=sum(w.stored_bytes for w in weights),
        inputs=interface.inputs,
        outputs=interface.outputs,
    )


def weight_file_bytes(path: Path) -> int:
    """Size of the package's ``weight.bin`` files (what Core ML maps at load), 0 if none."""
    weights = path / "Data" / "com.apple.CoreML" / "weights"
    if not weights.is_dir():
        return 0
    return sum(f.stat().st_size for f in weights.iterdir() if f.is_file())


def _add(
    groups: dict[tuple[str, str], list[int]], key: tuple[str, str], stored: int, full: int
) -> None:
    entry = groups.setdefault(key, [0, 0, 0])
    entry[0] += 1
    entry[1] += stored
    entry[2] += full


def _main_block(spec: Any) -> Any:
    functions = spec.mlProgram.functions
    function = functions[spec.description.defaultFunctionName or "main"]
    return function.block_specializations[function.opset]


def _operations(block: Any) -> list[Any]:
    ops: list[Any] = []
    for op in block.operations:
        ops.append(op)
        for nested in op.blocks:
            ops.extend(_operations(nested))
    return ops


def _is_blob(op: Any) -> bool:
    value = op.attributes.get("val")
    return value is not None and value.WhichOneof("value") == "blobFileValue"


def _blob_of(output: Any) -> _Blob:
    dtype, numel = _dtype(output), _numel(output)
    return _Blob(dtype, numel, math.ceil(numel * _bits(dtype) / 8))


def _dtype(output: Any) -> str:
    from coremltools.proto import MIL_pb2

    tensor = output.type.tensorType
    name = str(MIL_pb2.DataType.Name(tensor.dataType)).lower()
    return name.replace("float", "fp") if name.startswith("float") else name


def _numel(output: Any) -> int:
    total = 1
    for dim in output.type.tensorType.dimensions:
        if dim.WhichOneof("dimension") != "constant":
            return 0
        total *= int(dim.constant.size)
    return total


def _bits(dtype: str) -> int:
    if dtype == "bool":
        return 8
    match = _BITS.search(dtype)
    return int(match.group(1)) if match else 8
