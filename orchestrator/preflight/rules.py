"""A small rule engine over the MIL program: each rule is data plus one function.

A :class:`Rule` names its id, severity, the public issue or document it comes from, and a
``check`` that looks at a :class:`RuleContext` and yields :class:`Hit` s (a message and the op
it is about). The catalogue lives in ``pitfalls.py``; adding a rule is adding one entry there.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.preflight.report import Finding, Inventory, Severity
from pomar_core.errors import ModelError
from pomar_core.wire import Precision, TensorSpec


@dataclass(frozen=True)
class Hit:
    """One place a rule matched."""

    message: str
    op: str | None = None


@dataclass(frozen=True)
class RuleContext:
    """What rules look at: the program's ops in order, its interface, and the run's precision."""

    operations: tuple[Any, ...]
    """coremltools MIL ``Operation`` s of ``main``, nested blocks flattened, constants included."""
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    precision: Precision
    """The precision the model will run at on device."""
    inventory: Inventory
    weight_file_bytes: int
    """Size of ``weight.bin`` as Core ML will map it."""

    def ops_of(self, *op_types: str) -> Iterator[Any]:
        """The ops of the given types, in program order."""
        return (op for op in self.operations if op.op_type in op_types)

    @property
    def runs_fp16(self) -> bool:
        return self.precision is Precision.FP16 or self.inventory.precision is Precision.FP16


@dataclass(frozen=True)
class Rule:
    """A known pitfall: what it is, where it is documented, and how to spot it."""

    id: str
    severity: Severity
    source: str
    """URL of the public issue or document that describes the failure."""
    check: Callable[[RuleContext], Iterable[Hit]]
    hint: str | None = None
    fp16_only: bool = False
    """Only a risk when the program runs in half precision."""
    tags: tuple[str, ...] = field(default=())


def run_rules(rules: Sequence[Rule], context: RuleContext, *, max_hits: int = 5) -> list[Finding]:
    """Findings of every rule that matches; at most ``max_hits`` per rule, then a count."""
    findings: list[Finding] = []
    for rule in rules:
        if rule.fp16_only and not context.runs_fp16:
            continue
        hits = list(rule.check(context))
        for hit in hits[:max_hits]:
            findings.append(_finding(rule, hit))
        if len(hits) > max_hits:
            findings.append(
                _finding(rule, Hit(f"… and {len(hits) - max_hits} more places like these"))
            )
    return findings


def _finding(rule: Rule, hit: Hit) -> Finding:
    return Finding(
        id=rule.id,
        severity=rule.severity,
        message=hit.message,
        source=rule.source,
        op=hit.op,
        hint=rule.hint,
    )


def flatten(operations: Iterable[Any]) -> tuple[Any, ...]:
    """Ops in program order with the ops of nested blocks (cond, while) after their parent."""
    out: list[Any] = []
    for op in operations:
        out.append(op)
        for block in getattr(op, "blocks", ()):
            out.extend(flatten(block.operations))
    return tuple(out)


def name_of(op: Any) -> str:
    """How findings name an op: its first output variable (what traces and memory use)."""
    outputs = getattr(op, "outputs", ())
    return str(outputs[0].name) if outputs else str(op.name)


def producer(var: Any) -> Any:
    """The op that produces ``var`` (None for model inputs)."""
    return getattr(var, "op", None)


def fed_by(op: Any, *op_types: str) -> bool:
    """Whether ``op``'s ``x`` input comes from a chain of ops of ``op_types``, nearest first:
    ``fed_by(log, "cumsum", "exp")`` is ``log(cumsum(exp(…)))``."""
    for op_type in op_types:
        op = producer(op.inputs["x"])
        if op is None or op.op_type != op_type:
            return False
    return True


def load_operations(path: Path, name: str) -> tuple[Any, ...]:
    """The ops of ``main`` of the ML program at ``path``, for rules (any feature types)."""
    from coremltools.converters.mil.frontend.milproto.load import load as load_milproto

    from orchestrator.intake.quiet import captured_stderr, coremltools, first_line

    ct = coremltools()
    try:
        with captured_stderr(), contextlib.redirect_stdout(io.StringIO()):
            model = ct.models.MLModel(str(path), skip_model_load=True)
            spec = model.get_spec()
            program = load_milproto(spec, spec.specificationVersion, model.weights_dir or "")
    except Exception as exc:
        raise ModelError(
            f"cannot parse the ML program of {name}: {first_line(exc)}",
            hint="re-save the model with coremltools 9 and check its weights are present",
        ) from exc
    function_name = spec.description.defaultFunctionName or "main"
    if function_name not in program.functions:
        raise ModelError(f"{name}: the ML program has no '{function_name}' function")
    return flatten(program.functions[function_name].operations)
