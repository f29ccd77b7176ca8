"""FP16 range risk: run the program in fp32 on the input set and see what half cannot hold.

The trace is the emulator's, in fp32, of a program without fp16 casts (for a source model,
preflight converts it a second time at FLOAT32; a bare fp16 package is traced as it is, so
there an overflow shows up as the first Inf rather than as a value with a factor). Flagged:

* ``overflow`` — a tensor with |x| > 65504, the largest finite half;
* ``partial-sum`` — a reduction inside a normalisation whose running sum of squares exceeds
  65504 even though its inputs and output fit (RMSNorm, layer/instance norm, L2 norm:
  pytorch/executorch#8641, apple/coremltools#2585);
* ``underflow`` — a tensor most of whose non-zero values are below half's smallest subnormal
  (they become 0, and a later division or log turns that into Inf);
* ``non-finite`` — the first tensor that already holds Inf/NaN in the trace.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from coreml_emulator import Trace
from orchestrator.preflight.memory import human_bytes
from orchestrator.preflight.report import Finding, RangeRisk, Severity

HALF_MAX = 65504.0
FLUSH_TO_ZERO = 2.0**-25
"""Magnitudes below this round to zero in half precision (half the smallest subnormal)."""
UNDERFLOW_SHARE = 0.5
MAX_FINDINGS = 20

_SOURCES = {
    "overflow": "https://github.com/apple/coremltools/issues/2110",
    "partial-sum": "https://github.com/pytorch/executorch/issues/8641",
    "underflow": "https://github.com/apple/coremltools/issues/2728",
    "non-finite": "https://github.com/apple/coremltools/issues/1734",
}
_SQUARES = {"reduce_sum_square", "reduce_l2_norm", "l2_norm"}
_CENTRED = {"layer_norm", "instance_norm"}
_SUMS = {"reduce_sum", "reduce_mean"}


@dataclass(frozen=True)
class _Reduction:
    """A reduction whose running sum preflight recomputes from the op's input."""

    op: str
    op_type: str
    axes: tuple[int, ...] | None
    centred: bool
    """Sum of squared deviations from the mean (norms) rather than of squares."""
    squared_input: bool
    """The input is already a square (``reduce_mean(x*x)``): sum it as it is."""


class RangeTrace(Trace):
    """An emulator trace that also measures underflow and the reductions' partial sums."""

    def __init__(self, reductions: Mapping[str, list[_Reduction]]) -> None:
        super().__init__()
        self.reductions = reductions
        self.underflow: dict[str, tuple[float, float]] = {}
        self.partial_sums: dict[str, tuple[str, float]] = {}

    def record(self, name: str, op_type: str, tensor: torch.Tensor) -> None:
        super().record(name, op_type, tensor)
        self.observe(name, tensor)

    def observe(self, name: str, tensor: torch.Tensor) -> None:
        """Measure ``tensor`` (an op output, or a model input fed to a reduction)."""
        if not tensor.is_floating_point() or tensor.numel() == 0:
            return
        values = tensor.detach().to(torch.float32)
        magnitude = values.abs()
        nonzero = (magnitude > 0) & torch.isfinite(magnitude)
        count = int(nonzero.sum())
        if count >= 16:
            flushed = int((nonzero & (magnitude < FLUSH_TO_ZERO)).sum())
            if flushed / count > UNDERFLOW_SHARE:
                self.underflow[name] = (flushed / count, float(magnitude[nonzero].min()))
        for reduction in self.reductions.get(name, ()):
            total = _partial_sum(values, reduction)
            if total > HALF_MAX and reduction.op not in self.partial_sums:
                self.partial_sums[reduction.op] = (reduction.op_type, total)


def trace_ranges(
    path: Path,
    inputs: Mapping[str, npt.NDArray[Any]],
    *,
    max_bytes: int,
    severity: Severity = Severity.WARNING,
) -> tuple[tuple[RangeRisk, ...], list[Finding]]:
    """Trace the program at ``path`` in fp32 on ``inputs``; the risks and their findings.

    Skipped, with an info finding, when one prediction needs more than ``max_bytes``.
    """
    from coreml_emulator import load_program
    from coreml_emulator.loading import load_model

    program = load_program(path)
    needed = program.memory_model("fp32").total_bytes
    if needed is not None and needed > max_bytes:
        return (), [
            Finding(
                id="fp16.range-skipped",
                severity=Severity.INFO,
                message=f"FP16 range check skipped: one fp32 prediction needs about "
                f"{human_bytes(needed)}, more than the {human_bytes(max_bytes)} allowed here",
                hint="raise --max-trace-memory to run it on this host",
            )
        ]
    reductions = _reductions(load_model(path).function.operations)
    trace = RangeTrace(reductions)
    for name, array in inputs.items():
        if name in reductions:
            trace.observe(name, torch.from_numpy(np.asarray(array, dtype=np.float32)))
    program.predict(dict(inputs), precision="fp32", trace=trace)
    risks = _risks(trace)
    return risks, _findings(risks, severity)


def _reductions(operations: Any) -> dict[str, list[_Reduction]]:
    """Reductions by the name of the variable they read."""
    producers: dict[str, Any] = {}
    found: dict[str, list[_Reduction]] = {}
    for op in operations:
        for out in op.outputs:
            producers[out.name] = op
        kind = op.op_type
        x = op.inputs.get("x")
        if x is None or isinstance(x, list | tuple):
            continue
        squared = kind in _SUMS and _is_square(producers.get(x.name))
        if kind not in _SQUARES | _CENTRED and not squared:
            continue
        axes = _axes(op, kind, len(x.shape))
        found.setdefault(x.name, []).append(
            _Reduction(
                op=op.outputs[0].name,
                op_type=kind,
                axes=axes,
                centred=kind in _CENTRED,
                squared_input=squared,
            )
        )
    return found


def _is_square(op: Any) -> bool:
    if op is None:
        return False
    if op.op_type == "square":
        return True
    if op.op_type == "mul":
        return bool(op.inputs["x"].name == op.inputs["y"].name)
    if op.op_type == "pow":
        exponent = op.inputs["y"].val
        return exponent is not None and bool(np.all(np.asarray(exponent) == 2))
    return False


def _axes(op: Any, kind: str, rank: int) -> tuple[int, ...] | None:
    if kind == "instance_norm":
        return tuple(range(2, rank))
    if kind == "l2_norm":
        return tuple(range(max(rank - 3, 1 if rank > 1 else 0), rank))
    axes = op.inputs.get("axes")
    if axes is None or axes.val is None:
        return None
    return tuple(int(a) for a in np.asarray(axes.val).reshape(-1))


def _partial_sum(values: torch.Tensor, reduction: _Reduction) -> float:
    dims = list(reduction.axes) if reduction.axes is not None else list(range(values.dim()))
    if not dims:
        return 0.0
    finite = torch.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    if reduction.squared_input:
        terms = finite.abs()
    elif reduction.centred:
        terms = (finite - finite.mean(dim=dims, keepdim=True)) ** 2
    else:
        terms = finite**2
    total = float(terms.sum(dim=dims).max())
    return total if math.isfinite(total) else math.inf


def _risks(trace: RangeTrace) -> tuple[RangeRisk, ...]:
    risks: list[RangeRisk] = []
    first_bad = trace.first_nonfinite()
    for stats in trace:
        if stats is first_bad:
            risks.append(
                RangeRisk(
                    op=stats.name,
                    op_type=stats.op_type,
                    kind="non-finite",
                    value=math.inf,
                    factor=math.inf,
                )
            )
        elif stats.dtype.startswith(("float", "bfloat")) and stats.abs_max > HALF_MAX:
            risks.append(
                RangeRisk(
                    op=stats.name,
                    op_type=stats.op_type,
                    kind="overflow",
                    value=stats.abs_max,
                    factor=stats.abs_max / HALF_MAX,
                )
            )
        if stats.name in trace.underflow:
            share, smallest = trace.underflow[stats.name]
            risks.append(
                RangeRisk(
                    op=stats.name,
                    op_type=stats.op_type,
                    kind="underflow",
                    value=smallest,
                    factor=share,
                )
            )
        # A reduction whose output already overflows needs no second word about its sum.
        output_fits = stats is not first_bad and not stats.abs_max > HALF_MAX
        if stats.name in trace.partial_sums and output_fits:
            op_type, total = trace.partial_sums[stats.name]
            risks.append(
                RangeRisk(
                    op=stats.name,
                    op_type=op_type,
                    kind="partial-sum",
                    value=total,
                    factor=total / HALF_MAX,
                )
            )
    return tuple(risks)


def _findings(risks: tuple[RangeRisk, ...], severity: Severity) -> list[Finding]:
    findings = [_finding(risk, severity) for risk in risks[:MAX_FINDINGS]]
    if len(risks) > MAX_FINDINGS:
        findings.append(
            Finding(
                id="fp16.more",
                severity=Severity.INFO,
                message=f"{len(risks) - MAX_FINDINGS} more FP16 range risks are listed in the "
                "report's ranges",
            )
        )
    return findings


def _finding(risk: RangeRisk, severity: Severity) -> Finding:
    if risk.kind == "overflow":
        message = (
            f"{risk.op_type} output reaches {risk.value:.4g}, {risk.factor:.3g}x the largest "
            "half-precision value: Inf in fp16"
        )
        hint = "rescale before this op, or keep it in fp32 (ct.transform.FP16ComputePrecision)"
    elif risk.kind == "partial-sum":
        message = (
            f"{risk.op_type} sums squares up to {risk.value:.4g}, {risk.factor:.3g}x the half "
            "range: the normalisation overflows in fp16 although its output fits"
        )
        hint = "scale by max|x| before the sum of squares, or keep the norm in fp32"
    elif risk.kind == "underflow":
        message = (
            f"{risk.op_type} output: {risk.factor:.0%} of its non-zero values are below "
            f"half's smallest subnormal (smallest {risk.value:.3g}) and become 0 in fp16"
        )
        hint = "rescale the values, or keep this op in fp32"
    else:
        message = f"{risk.op_type} output is already Inf/NaN in the fp32 trace"
        hint = "check the input set and this op; an fp16 program shows its overflow here"
    return Finding(
        id=f"fp16.{risk.kind}",
        severity=severity,
        message=message,
        source=_SOURCES[risk.kind],
        op=risk.op,
        hint=hint,
    )
