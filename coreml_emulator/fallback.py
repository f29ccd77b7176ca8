"""Running an op through coremltools' own ``value_inference`` when no kernel is registered.

coremltools' op definitions carry a numpy implementation for constant folding. Where an op has
one and Pomar has no kernel, the emulator calls it with the runtime values standing in for the
op's inputs, so the library's semantics are the spec. It is slower than a torch kernel and runs
numpy arithmetic in the dtype of the values it is given.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from coreml_emulator.kernels import OpArgs, Tensor


def has_value_inference(op: Any) -> bool:
    """Whether the op's class overrides ``Operation.value_inference``."""
    from coremltools.converters.mil.mil.operation import Operation

    return type(op).value_inference is not Operation.value_inference


class _ValueVar:
    """Stands in for an input ``Var``: its value is the runtime tensor, the rest is the Var's."""

    __slots__ = ("_var", "val")

    def __init__(self, var: Any, val: Any) -> None:
        self._var = var
        self.val = val

    @property
    def sym_val(self) -> Any:
        return self.val

    def __getattr__(self, name: str) -> Any:
        return getattr(self._var, name)


def value_inference_kernel(args: OpArgs) -> tuple[Tensor, ...]:
    """Evaluate the op with coremltools' numpy ``value_inference`` on the runtime inputs."""
    op = args.op
    proxy = copy.copy(op)
    proxy._input_vars = dict(op._input_vars)
    for name, var in op.inputs.items():
        if isinstance(var, list | tuple):
            vals = args.value(name)
            stand_in: Any = tuple(_ValueVar(v, x) for v, x in zip(var, vals, strict=True))
        else:
            stand_in = _ValueVar(var, _numpy_input(args.value(name), var))
        proxy._input_vars[name] = stand_in
        setattr(proxy, name, stand_in)
    # The precondition wrapper reads ``_input_vars``: ops that refuse values still refuse.
    result = type(op).value_inference(proxy)
    values = result if isinstance(result, tuple) else (result,)
    return tuple(_to_tensor(v) for v in values)


def _numpy_input(value: Any, var: Any) -> Any:
    # Scalars declared as scalars must stay numpy scalars for value_inference code paths.
    if isinstance(value, np.ndarray) and value.ndim == 0 and not var.shape:
        return value[()]
    return value


def _to_tensor(value: Any) -> Tensor:
    array = np.require(np.asarray(value), requirements="C")  # keeps rank 0 rank 0
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    elif array.dtype == np.int64:
        array = array.astype(np.int32)
    return torch.from_numpy(array.copy())
