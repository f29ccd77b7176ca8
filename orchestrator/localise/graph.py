"""The program as localisation sees it: ops in topological order, what is alive after each op,
and where the program may be cut.

**Frontier.** Cutting after op ``i`` exposes its frontier: every tensor produced at or before
``i`` that a later op reads or that is an output. Everything after ``i`` depends only on the
frontier (and inputs and constants), so on a branching or residual graph the frontier holds
both the main path and the skip connection: a clean frontier clears everything before it.

**Cut points the compiler cannot fuse away.** Exposing a tensor as an output forces Core ML to
materialise it. Where the tensor sits between two ops the compilers fuse (a convolution or a
matmul and its bias add or batch norm; an add, a normalisation or a linear op and the
activation after it; the ``matmul → add → softmax → matmul`` of attention), exposing it would
split the fused kernel and change the very code path that may be wrong (coremltools#2650: a
no-op split between ``add`` and ``softmax`` makes the GPU right again). So a position is a cut
point only if no tensor of its frontier is the single-consumer link of a :data:`FUSIBLE` pair.
The ops between two cut points form a group the search cannot split; the localiser then spends
one run exposing the group's inside (saying so), or reports the group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

ACTIVATIONS = frozenset(
    {
        "relu",
        "relu6",
        "leaky_relu",
        "gelu",
        "silu",
        "sigmoid",
        "hard_sigmoid",
        "tanh",
        "clip",
        "elu",
        "prelu",
        "softplus",
        "thresholded_relu",
        "scaled_tanh",
    }
)
_LINEAR = frozenset({"conv", "conv_transpose", "linear", "matmul", "einsum"})
_FUSES_ACTIVATION = _LINEAR | {"add", "sub", "mul", "batch_norm", "instance_norm", "layer_norm"}
FUSIBLE: frozenset[tuple[str, str]] = frozenset(
    {(p, a) for p in _FUSES_ACTIVATION for a in ACTIVATIONS}
    | {(p, q) for p in _LINEAR for q in ("add", "mul", "batch_norm")}
    | {("add", "softmax"), ("mul", "softmax"), ("matmul", "softmax"), ("softmax", "matmul")}
)
"""(producer, consumer) op types fused on device: never cut between them."""


@dataclass(frozen=True)
class OpNode:
    """One non-constant op: the tensors it reads (other ops' outputs and inputs) and makes."""

    name: str
    """Its first output (Core ML names ops by their outputs)."""
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    weight: str | None = None
    """The name of its weight constant, when it has one (a hint at the source module)."""


@dataclass(frozen=True)
class ProgramGraph:
    """Ops in program (topological) order, the program's inputs and outputs."""

    ops: tuple[OpNode, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    @cached_property
    def _producer(self) -> dict[str, int]:
        return {var: i for i, op in enumerate(self.ops) for var in op.outputs}

    @cached_property
    def _consumers(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for i, op in enumerate(self.ops):
            for var in dict.fromkeys(op.inputs):
                if var in self._producer:
                    found.setdefault(var, []).append(i)
        return found

    @cached_property
    def _last_read(self) -> dict[str, int]:
        end = len(self.ops)
        last = {var: max(users) for var, users in self._consumers.items()}
        for var in self.outputs:
            last[var] = end  # outputs stay alive to the end
        return last

    def frontier(self, position: int) -> tuple[str, ...]:
        """Tensors produced at or before op ``position`` still needed after it."""
        return tuple(
            var
            for op in self.ops[: position + 1]
            for var in op.outputs
            if self._last_read.get(var, -1) > position
        )

    def fused_across(self, position: int) -> bool:
        """Whether cutting after ``position`` would split a fusible single-consumer pair."""
        for var in self.frontier(position):
            users = self._consumers.get(var, [])
            if len(users) != 1 or var in self.outputs:
                continue  # read twice or an output: materialised anyway
            pair = (self.ops[self._producer[var]].op_type, self.ops[users[0]].op_type)
            if pair in FUSIBLE:
                return True
        return False

    def cut_points(self) -> tuple[int, ...]:
        """Positions the search may probe, ascending; the last op (the outputs) always."""
        last = len(self.ops) - 1
        cuts = [i for i in range(last) if not self.fused_across(i)]
        return (*cuts, last)

    def op_index(self, var: str) -> int | None:
        """The position of the op producing ``var``."""
        return self._producer.get(var)


def graph_of(function: Any) -> ProgramGraph:
    """The graph of a coremltools MIL function (``program.functions["main"]``)."""
    consts: set[str] = set()
    nodes: list[OpNode] = []
    for op in function.operations:
        outputs = tuple(v.name for v in op.outputs)
        if op.op_type == "const" or op.op_type.startswith("constexpr_"):
            consts.update(outputs)
            continue
        read = [v for v in _input_vars(op) if v.name not in consts]
        weight = next((v.name for k, v in _named_inputs(op) if k == "weight"), None)
        nodes.append(
            OpNode(
                name=outputs[0],
                op_type=op.op_type,
                inputs=tuple(dict.fromkeys(v.name for v in read)),
                outputs=outputs,
                weight=weight if weight in consts else None,
            )
        )
    return ProgramGraph(
        ops=tuple(nodes),
        inputs=tuple(function.inputs),
        outputs=tuple(v.name for v in function.outputs),
    )


def _named_inputs(op: Any) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key, value in op.inputs.items():
        values: Sequence[Any] = value if isinstance(value, list | tuple) else [value]
        found.extend((key, v) for v in values if hasattr(v, "name"))
    return found


def _input_vars(op: Any) -> list[Any]:
    return [v for _, v in _named_inputs(op)]


def source_module(op: OpNode) -> str | None:
    """A source-module hint from the op's weight name (``layer1_0_conv1_weight_to_fp16`` →
    ``layer1_0_conv1``): what the torch converter keeps of the module path on disk."""
    if op.weight is None or "_weight" not in op.weight:
        return None
    return op.weight.split("_weight", 1)[0] or None
