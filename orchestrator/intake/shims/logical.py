"""``&`` and ``|`` on bool and integer tensors (coremltools 9.0 takes bool only)."""

from __future__ import annotations

from typing import Any

from orchestrator.intake.shims._milhelpers import inputs


def _bitwise(context: Any, node: Any, op: str) -> None:
    from coremltools.converters.mil.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    x, y = inputs(context, node)[:2]
    if types.is_bool(x.dtype) and types.is_bool(y.dtype):
        builder = mb.logical_and if op == "and" else mb.logical_or
        context.add(builder(x=x, y=y, name=node.name))
        return
    for value in (x, y):
        if not (types.is_bool(value.dtype) or types.is_int(value.dtype)):
            raise NotImplementedError(f"'{op}' of a {types.builtin_to_string(value.dtype)} tensor")
    if _is_zero_one(x) and _is_zero_one(y):
        # Masks: 0/1 integers. min/max of 0/1 values is their and/or, in the integer dtype.
        x = mb.cast(x=x, dtype="int32") if types.is_bool(x.dtype) else x
        y = mb.cast(x=y, dtype="int32") if types.is_bool(y.dtype) else y
        builder = mb.minimum if op == "and" else mb.maximum
        context.add(builder(x=x, y=y, name=node.name))
        return
    raise NotImplementedError(
        f"bitwise '{op}' of integer tensors that are not known to hold only 0 and 1"
    )


def _is_zero_one(value: Any) -> bool:
    """Whether a var can only hold 0 and 1: a bool, a constant of 0s and 1s, or a cast of a bool."""
    from coremltools.converters.mil.mil import types

    if types.is_bool(value.dtype):
        return True
    if value.val is not None:
        import numpy as np

        return bool(np.isin(np.asarray(value.val), (0, 1)).all())
    op = value.op
    return op is not None and op.op_type == "cast" and types.is_bool(op.x.dtype)


def bitwise_and(context: Any, node: Any) -> None:
    """``a & b``: logical on bools, ``minimum`` on 0/1 integer masks."""
    _bitwise(context, node, "and")


def bitwise_or(context: Any, node: Any) -> None:
    """``a | b``: logical on bools, ``maximum`` on 0/1 integer masks."""
    _bitwise(context, node, "or")
