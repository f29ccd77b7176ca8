"""``torch.diff(input, n=1, dim=-1, prepend=None, append=None)``."""

from __future__ import annotations

from typing import Any

from orchestrator.intake.shims._milhelpers import inputs


def diff(context: Any, node: Any) -> None:
    """Differences of neighbours along ``dim``, ``n`` times; ``!=`` for bool input, as torch."""
    from coremltools.converters.mil.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    args = inputs(context, node) + [None] * 5
    x, n, dim, prepend, append = args[:5]
    times = 1 if n is None else int(n.val)
    axis = -1 if dim is None else int(dim.val)
    axis %= x.rank
    pieces = [v for v in (prepend, x, append) if v is not None]
    if len(pieces) > 1:
        x = mb.concat(values=pieces, axis=axis)
    for _ in range(times):
        later = _shifted(x, axis, start=1)
        earlier = _shifted(x, axis, start=0)
        if types.is_bool(x.dtype):
            x = mb.not_equal(x=later, y=earlier)
        else:
            x = mb.sub(x=later, y=earlier)
    context.add(mb.identity(x=x, name=node.name))


def _shifted(x: Any, axis: int, *, start: int) -> Any:
    """``x[1:]`` (``start=1``) or ``x[:-1]`` (``start=0``) along ``axis``."""
    from coremltools.converters.mil.mil import Builder as mb

    rank = x.rank
    begin = [0] * rank
    end = [0] * rank
    begin_mask = [True] * rank
    end_mask = [True] * rank
    if start:
        begin[axis], begin_mask[axis] = 1, False
    else:
        end[axis], end_mask[axis] = -1, False
    return mb.slice_by_index(x=x, begin=begin, end=end, begin_mask=begin_mask, end_mask=end_mask)
