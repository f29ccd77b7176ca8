"""``tensor.new_ones`` / ``tensor.new_zeros``: a filled tensor in ``dtype`` or ``self``'s dtype."""

from __future__ import annotations

from typing import Any

from orchestrator.intake.shims._milhelpers import inputs, mil_dtype_name, numpy_dtype, shape_of


def _new_filled(context: Any, node: Any, value: float) -> None:
    from coremltools.converters.mil.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    args = inputs(context, node)
    self_, size = args[0], args[1]
    dtype = args[2] if len(args) > 2 else None
    if dtype is not None and dtype.val is not None:
        target = mil_dtype_name(numpy_dtype(dtype))
    else:
        target = types.builtin_to_string(self_.dtype)
        target = {"int64": "int32", "fp64": "fp32"}.get(target, target)
    shape = shape_of(size)
    if types.is_float(shape.dtype):
        shape = mb.cast(x=shape, dtype="int32")
    filled = mb.fill(shape=shape, value=float(value))
    if target == "fp32":
        context.add(mb.identity(x=filled, name=node.name))
    else:
        context.add(mb.cast(x=filled, dtype=target, name=node.name))


def new_ones(context: Any, node: Any) -> None:
    """``self.new_ones(size, dtype=None, ...)``."""
    _new_filled(context, node, 1.0)


def new_zeros(context: Any, node: Any) -> None:
    """``self.new_zeros(size, dtype=None, ...)`` (and ``new_empty``, filled with zeros)."""
    _new_filled(context, node, 0.0)
