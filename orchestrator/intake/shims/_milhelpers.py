"""What every shim needs from coremltools' torch front end: its inputs and dtype tables."""

from __future__ import annotations

from typing import Any


def inputs(context: Any, node: Any) -> list[Any]:
    """The node's inputs as MIL vars (``None`` for omitted optional inputs)."""
    from coremltools.converters.mil.frontend.torch.ops import _get_inputs

    return list(_get_inputs(context, node))


def numpy_dtype(torch_dtype_value: Any) -> Any:
    """The numpy dtype for a TorchScript dtype input (an int enum or a ``torch.dtype``)."""
    import torch
    from coremltools.converters.mil.frontend.torch.utils import (
        NUM_TO_NUMPY_DTYPE,
        TORCH_DTYPE_TO_NUM,
    )

    value = torch_dtype_value.val if hasattr(torch_dtype_value, "val") else torch_dtype_value
    if isinstance(value, torch.dtype):
        value = TORCH_DTYPE_TO_NUM[value]
    return NUM_TO_NUMPY_DTYPE[int(value)]


def mil_dtype_name(np_dtype: Any) -> str:
    """The MIL ``cast`` dtype name a numpy dtype lands in on Core ML (int64 → int32)."""
    import numpy as np

    kind = np.dtype(np_dtype)
    if kind == np.bool_:
        return "bool"
    if kind.kind in "iu":
        return "int32"
    if kind == np.float16:
        return "fp16"
    return "fp32"


def shape_of(size: Any) -> Any:
    """A MIL shape var for a ``size`` input (a list of scalars or a vector)."""
    from coremltools.converters.mil.mil import Builder as mb

    if isinstance(size, list | tuple):
        parts = [mb.expand_dims(x=s, axes=[0]) if s.rank == 0 else s for s in size]
        size = mb.concat(values=parts, axis=0)
    return size
