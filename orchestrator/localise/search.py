"""The search: bisect the cut points for the first frontier that diverges.

Invariant: the frontier at cut ``lo`` is clean (``-1``: the program's inputs) and the one at cut
``hi`` diverges (at first the outputs, which the failing run already measured). Each probe halves
``hi - lo``, so a chain of ``n`` ops takes ``⌈log2 n⌉`` device runs. When ``hi = lo + 1`` the ops
between the two cuts read only clean tensors (the frontier at ``lo`` and the inputs) and one of
them produces a diverged one: that group holds the culprit, even where divergence is not monotone
along the order (a transition found is always a real one).
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.localise.graph import OpNode, ProgramGraph, source_module
from orchestrator.localise.traces import exact
from pomar_core.wire import Culprit, Localisation, TensorError


def next_cut(localisation: Localisation) -> int | None:
    """The cut index to probe next, or None when the suspects are one group."""
    if localisation.hi - localisation.lo > 1:
        return (localisation.lo + localisation.hi) // 2
    return None


def narrowed(localisation: Localisation, cut: int, diverged: bool) -> Localisation:
    """The state after probing ``cut``."""
    if diverged:
        return localisation.model_copy(update={"hi": cut})
    return localisation.model_copy(update={"lo": cut})


def suspects(graph: ProgramGraph, cuts: tuple[int, ...], lo: int, hi: int) -> tuple[OpNode, ...]:
    """The ops after cut ``lo`` up to and including cut ``hi``."""
    start = cuts[lo] + 1 if lo >= 0 else 0
    return graph.ops[start : cuts[hi] + 1]


def measured(localisation: Localisation) -> dict[str, TensorError]:
    """Every tensor the device's runs measured, newest measurement last (wins)."""
    found: dict[str, TensorError] = {e.name: e for e in localisation.outputs}
    for probe in localisation.probes:
        found.update({e.name: e for e in probe.errors})
    return found


def culprit_of(
    graph: ProgramGraph, group: tuple[OpNode, ...], errors: dict[str, TensorError]
) -> Culprit:
    """The first op of ``group`` whose measured output diverged (the last op when the inside
    of the group was not measured), with its inputs' and output's errors."""
    measured_inside = [op for op in group if op.name in errors]
    first = next((op for op in measured_inside if errors[op.name].diverged), group[-1])
    inside_known = all(op.name in errors for op in group)
    fused = () if inside_known or len(group) == 1 else tuple(op.name for op in group[:-1])
    return Culprit(
        op=first.name,
        op_type=first.op_type,
        inputs=tuple(_inputs(graph, group if fused else (first,), errors)),
        output=errors.get(first.name) or exact(first.name),
        fused_with=fused,
        source_module=source_module(first),
    )


def _inputs(
    graph: ProgramGraph, ops: tuple[OpNode, ...], errors: dict[str, TensorError]
) -> Iterable[TensorError]:
    inside = {var for op in ops for var in op.outputs}
    for var in dict.fromkeys(v for op in ops for v in op.inputs):
        if var in inside:
            continue
        if var in graph.inputs:
            yield exact(var)
        elif var in errors:
            yield errors[var]
