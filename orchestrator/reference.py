"""Desktop reference outputs for an input set.

With a source model, the reference is PyTorch in fp32: the ground truth the conversion should
preserve. With a bare Core ML model there is no source, so the reference is Pomar's emulator
running the ML program in fp32; that catches fp16 and device problems but not conversion
errors, and the :class:`~pomar_core.wire.Reference` says so in one line for the reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from pomar_core.arrays import Arrays
from pomar_core.artifacts import ArtifactStore, save_arrays
from pomar_core.errors import ModelError, PomarError
from pomar_core.wire import DType, ModelRef, Reference, ReferenceKind, TensorSpec

if TYPE_CHECKING:
    import torch


def compute_reference(
    model: ModelRef,
    inputs: Mapping[str, npt.NDArray[np.generic]],
    store: ArtifactStore,
    *,
    module: torch.nn.Module | None = None,
    model_path: Path | None = None,
    example_inputs: tuple[torch.Tensor, ...] | None = None,
) -> tuple[Arrays, Reference]:
    """Reference outputs for ``inputs``, keyed by the Core ML output names, stored as ``.npz``.

    Give ``module`` (and, when known, the ``example_inputs`` it was built with, whose dtypes
    it expects) for a source model; otherwise ``model_path`` for the emulator.
    """
    if module is not None:
        outputs = torch_reference(model, inputs, module, example_inputs)
        kind = ReferenceKind.SOURCE_FP32
        description = f"PyTorch fp32 on the source model {model.name}"
    elif model_path is not None:
        outputs = emulator_reference(model_path, inputs)
        kind = ReferenceKind.EMULATOR_FP32
        description = (
            f"Pomar's emulator in fp32 on the Core ML program of {model.name} "
            "(no source model given, so conversion errors are not visible)"
        )
    else:
        raise ValueError("compute_reference needs a module or a model path")
    sha256 = save_arrays(store, outputs)
    specs = tuple(
        TensorSpec(name=name, dtype=DType(str(arr.dtype)), shape=tuple(arr.shape))
        for name, arr in outputs.items()
    )
    return outputs, Reference(sha256=sha256, kind=kind, outputs=specs, description=description)


def torch_reference(
    model: ModelRef,
    inputs: Mapping[str, npt.NDArray[np.generic]],
    module: torch.nn.Module,
    example_inputs: tuple[torch.Tensor, ...] | None = None,
) -> Arrays:
    """Run ``module`` in fp32 on ``inputs`` (in the model's input order) and name its outputs
    after the Core ML outputs, in order, after flattening tuples, lists and dicts."""
    import torch

    args = []
    for i, spec in enumerate(model.inputs):
        expected = example_inputs[i].dtype if example_inputs and i < len(example_inputs) else None
        args.append(_to_torch(inputs[spec.name], expected))
    try:
        with torch.no_grad():
            raw = module(*args)
    except PomarError:
        raise
    except Exception as exc:
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        first = lines[0].strip() if lines else ""
        raise ModelError(
            f"the source model {model.name} failed on the input set: {type(exc).__name__}: {first}",
            hint="check the inputs fit what forward() expects, or pass --inputs with real data",
        ) from exc
    tensors = _flatten(raw)
    if len(tensors) != len(model.outputs):
        raise ModelError(
            f"the source model {model.name} returned {len(tensors)} tensors but the Core ML "
            f"model has {len(model.outputs)} outputs",
            hint="return exactly the tensors the converted model outputs, in the same order",
        )
    return {spec.name: _to_numpy(t) for spec, t in zip(model.outputs, tensors, strict=True)}


def emulator_reference(model_path: Path, inputs: Mapping[str, npt.NDArray[np.generic]]) -> Arrays:
    """Run the Core ML program at ``model_path`` through Pomar's emulator in fp32."""
    from coreml_emulator import predict  # pulls torch: only on this path

    outputs = predict(model_path, dict(inputs), precision="fp32")
    # The emulator returns the dtypes the model declares; a reference keeps full fp32.
    return {
        name: arr.astype(np.float32) if arr.dtype.kind == "f" else arr
        for name, arr in outputs.items()
    }


def _to_torch(array: npt.NDArray[np.generic], expected: torch.dtype | None) -> torch.Tensor:
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if expected is not None:
        return tensor.to(expected)
    # Core ML inputs may be fp16 or int32; the fp32 reference runs floats in fp32 and
    # integers as int64, which torch's indexing and embedding ops require.
    if tensor.is_floating_point():
        return tensor.to(torch.float32)
    if tensor.dtype in (torch.int8, torch.int16, torch.int32, torch.uint8):
        return tensor.to(torch.int64)
    return tensor


def _flatten(value: Any) -> list[torch.Tensor]:
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _flatten(v)]
    if isinstance(value, tuple | list):
        return [t for v in value for t in _flatten(v)]
    return []


def _to_numpy(tensor: torch.Tensor) -> npt.NDArray[np.generic]:
    import torch

    tensor = tensor.detach().cpu()
    if tensor.is_floating_point():
        tensor = tensor.to(torch.float32)
    elif tensor.dtype is torch.int64:
        # Core ML has no int64; the device returns int32, and so does the reference.
        tensor = tensor.to(torch.int32)
    array: npt.NDArray[np.generic] = tensor.numpy()
    return array
