"""Frontiers, cut points and the bisection, on hand-built graphs with a simulated device."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from orchestrator.localise import search
from orchestrator.localise.graph import OpNode, ProgramGraph
from pomar_core.wire import Localisation, LocalisationStatus, TensorError


def chain(n: int) -> ProgramGraph:
    ops = [OpNode(f"v{i}", "sin", (f"v{i - 1}" if i else "x",), (f"v{i}",)) for i in range(n)]
    return ProgramGraph(tuple(ops), ("x",), (f"v{n - 1}",))


def residual() -> ProgramGraph:
    """stem → [linear → add(·, stem) → relu] → head, plus an independent side branch."""
    ops = (
        OpNode("stem", "sin", ("x",), ("stem",)),
        OpNode("side", "cos", ("x",), ("side",)),
        OpNode("lin", "linear", ("stem",), ("lin",)),
        OpNode("add", "add", ("lin", "stem"), ("add",)),
        OpNode("relu", "relu", ("add",), ("relu",)),
        OpNode("head", "mul", ("relu", "side"), ("head",)),
    )
    return ProgramGraph(ops, ("x",), ("head",))


def dirty_after(graph: ProgramGraph, culprit: str) -> set[str]:
    """What a device with a bug in ``culprit`` gets wrong: it and everything reading it."""
    bad = {culprit}
    for op in graph.ops:
        if bad & set(op.inputs):
            bad.update(op.outputs)
    return bad


def localise(graph: ProgramGraph, culprit: str) -> tuple[tuple[OpNode, ...], int]:
    """Run the search against a simulated device; the suspected group and runs spent."""
    cuts = graph.cut_points()
    bad = dirty_after(graph, culprit)
    loc = Localisation(
        run_id="r",
        status=LocalisationStatus.RUNNING,
        max_runs=99,
        ops=len(graph.ops),
        cuts=len(cuts),
        lo=-1,
        hi=len(cuts) - 1,
        started_at=datetime.now(UTC),
    )
    runs = 0
    while (cut := search.next_cut(loc)) is not None:
        runs += 1
        diverged = bool(bad & set(graph.frontier(cuts[cut])))
        loc = search.narrowed(loc, cut, diverged)
    return search.suspects(graph, cuts, loc.lo, loc.hi), runs


@pytest.mark.parametrize("n", [1, 2, 7, 64, 1000])
def test_a_chain_of_n_ops_is_searched_in_ceil_log2_n_runs(n: int) -> None:
    graph = chain(n)
    for culprit in {0, n // 3, n - 1}:
        group, runs = localise(graph, f"v{culprit}")
        assert [op.name for op in group] == [f"v{culprit}"]
        assert runs <= math.ceil(math.log2(n))


def test_the_frontier_of_a_residual_block_holds_the_skip_connection() -> None:
    graph = residual()
    assert graph.frontier(2) == ("stem", "side", "lin")
    assert graph.frontier(4) == ("side", "relu")
    assert graph.frontier(5) == ("head",)


def test_no_cut_splits_a_fusible_pair_read_once() -> None:
    graph = residual()
    # lin → add (bias-like add after linear) and add → relu are fused: no cut after lin or add.
    assert graph.cut_points() == (0, 1, 4, 5)


def test_a_bug_on_a_branch_is_found_even_after_an_independent_branch_in_the_order() -> None:
    graph = residual()
    group, _ = localise(graph, "side")
    assert [op.name for op in group] == ["side"]
    group, _ = localise(graph, "relu")
    assert [op.name for op in group] == ["lin", "add", "relu"]  # a fused group to split


def test_the_culprit_of_a_measured_group_is_its_first_diverged_op() -> None:
    graph = residual()
    group = graph.ops[2:5]
    errors = {
        name: TensorError(name=name, error=e, noise=1e-3, diverged=e > 1e-2)
        for name, e in {"stem": 1e-3, "lin": 1e-3, "add": 0.5, "relu": 0.4}.items()
    }
    culprit = search.culprit_of(graph, group, errors)
    assert (culprit.op, culprit.op_type, culprit.fused_with) == ("add", "add", ())
    assert [e.name for e in culprit.inputs] == ["lin", "stem"]
    unmeasured = search.culprit_of(graph, group, {k: errors[k] for k in ("stem", "relu")})
    assert unmeasured.op == "relu"
    assert unmeasured.fused_with == ("lin", "add")
