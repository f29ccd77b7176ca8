"""Which op of the test models the fake engine gets wrong, found in the converted program."""

from __future__ import annotations

from orchestrator.localise.graph import ProgramGraph
from tests.orchestrator.localise.models import CHAIN_LENGTH


def chain_op(graph: ProgramGraph, index: int) -> str:
    """The ``index``-th sin/cos of the chain (the converter adds casts and consts around)."""
    ops = [op.name for op in graph.ops if op.op_type in ("sin", "cos")]
    assert len(ops) == CHAIN_LENGTH
    return ops[index]


def residual_relu(graph: ProgramGraph, block: int) -> str:
    """The relu after block ``block``'s residual add."""
    adds = {op.name for op in graph.ops if op.op_type == "add"}
    relus = [op.name for op in graph.ops if op.op_type == "relu" and op.inputs[0] in adds]
    return relus[block]
