"""Triage: whose fault a parity failure most likely is, from whatever evidence there is.

The evidence, each optional but the device outputs: the FP32 reference, a desktop FP16 emulation
of the same program, the same device on CPU_ONLY, repeat runs on the same device, and the
emulator's per-op trace. Checks run from the most specific to the least; the first that holds
names the label:

1. ``shape_mismatch``: an output is missing or has another shape.
2. ``nondeterministic``: repeats disagree with each other by a sizeable part of the error itself.
3. ``fp16_overflow``: NaN/Inf where the reference is finite, or the trace saw an op overflow.
4. ``fp16_expected``: the FP16 emulation is about as far from the reference as the device.
5. ``compute_unit_mismatch``: the CPU_ONLY run passes, this compute unit does not.
6. ``engine_mismatch``: the device is far from the FP16 emulation beyond its noise, or an FP32
   program fails on the CPU where only summation order should differ.

Distances are relative L2 against the reference's norm, taken on the worst output.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from orchestrator.parity.compare import compare, shapes_match
from orchestrator.parity.policy import TolerancePolicy
from pomar_core.arrays import Array
from pomar_core.wire import ComputeUnit, Precision, TriageLabel, Verdict

Outputs = Mapping[str, Array]

AS_FAR_OFF = 3.0
"""Device error up to this many times the FP16 emulation's error is still precision loss."""

NOISE_FLOOR = 2.0**-10
"""FP16 epsilon: the smallest relative L2 a difference between FP16 computations can claim."""

REPEAT_SHARE = 0.25
"""Repeats disagreeing by this share of the error against the reference explain the failure."""


@dataclass(frozen=True)
class OpStats:
    """What triage needs of one traced op: its name and non-finite counts."""

    name: str
    nan: int
    inf: int


@dataclass(frozen=True)
class Triage:
    """A label (None when the run passed) and one line of evidence."""

    label: TriageLabel | None
    detail: str


def triage(
    reference: Outputs,
    device: Outputs,
    *,
    policy: TolerancePolicy | str | Path = "default",
    precision: Precision | str = Precision.FP16,
    compute_unit: ComputeUnit | str = ComputeUnit.ALL,
    emulated_fp16: Outputs | None = None,
    cpu_only: Outputs | None = None,
    repeats: Sequence[Outputs] = (),
    op_trace: Any = None,
    reference_trace: Any = None,
) -> Triage:
    """Label a run's parity failure.

    Parameters:
        reference: the FP32 reference outputs.
        device: the run's outputs.
        emulated_fp16: the desktop FP16 emulation's outputs of the same program.
        cpu_only: the same device's outputs on CPU_ONLY.
        repeats: further outputs of the same run configuration on the same device.
        op_trace: the FP16 emulation's per-op statistics in op order: a mapping op name → stats,
            or an iterable of stats with a ``name``; stats carry ``nan_count``/``inf_count``
            (attributes or keys; ``nan``/``inf`` also accepted).
        reference_trace: the same for an FP32 run; ops non-finite there too are not overflow
            (an additive ``-inf`` mask is legitimate).
    """
    precision = Precision(precision)
    compute_unit = ComputeUnit(compute_unit)
    report = compare(reference, device, policy, precision=precision, compute_unit=compute_unit)
    if report.verdict is Verdict.PASSED:
        return Triage(None, "the run passed its parity check")
    failing = [o.name for o in report.outputs if o.verdict is Verdict.FAILED]

    for name in failing:
        ref, act = reference[name], device.get(name)
        if act is None or not shapes_match(tuple(ref.shape), tuple(np.shape(act))):
            got = "missing" if act is None else f"shape {tuple(np.shape(act))}"
            return Triage(
                TriageLabel.SHAPE_MISMATCH,
                f"output '{name}' is {got}, the reference has shape {tuple(ref.shape)}",
            )

    worst, device_error = _worst(reference, device, failing)

    spread = max(
        (_distance(reference[worst], device[worst], r.get(worst)) for r in repeats), default=0.0
    )
    if repeats and spread >= max(REPEAT_SHARE * device_error, NOISE_FLOOR):
        return Triage(
            TriageLabel.NONDETERMINISTIC,
            f"repeat runs of '{worst}' differ by relative L2 {spread:.3g}, against "
            f"{device_error:.3g} from the reference",
        )

    overflow = _overflow(reference, device, failing, op_trace, reference_trace, emulated_fp16)
    if overflow is not None:
        return Triage(TriageLabel.FP16_OVERFLOW, overflow)

    emulated_error = None
    if emulated_fp16 is not None and worst in emulated_fp16:
        emulated_error = _distance(reference[worst], reference[worst], emulated_fp16[worst])
        apart = _distance(reference[worst], device[worst], emulated_fp16[worst])
        noise = max(emulated_error, NOISE_FLOOR)
        if device_error <= AS_FAR_OFF * noise and apart <= AS_FAR_OFF * noise:
            return Triage(
                TriageLabel.FP16_EXPECTED,
                f"desktop fp16 emulation of '{worst}' is as far off (relative L2 "
                f"{emulated_error:.3g}) as the device ({device_error:.3g}): fp16 precision loss",
            )

    if cpu_only is not None and compute_unit is not ComputeUnit.CPU:
        cpu_report = compare(
            reference, cpu_only, policy, precision=precision, compute_unit=ComputeUnit.CPU
        )
        if cpu_report.verdict is Verdict.PASSED:
            return Triage(
                TriageLabel.COMPUTE_UNIT_MISMATCH,
                f"CPU_ONLY passes but {compute_unit.value} does not: '{worst}' relative L2 "
                f"{device_error:.3g}",
            )

    if emulated_error is not None:
        apart = _distance(reference[worst], device[worst], emulated_fp16[worst])  # type: ignore[index]
        return Triage(
            TriageLabel.ENGINE_MISMATCH,
            f"'{worst}' on the device is {apart:.3g} (relative L2) from the desktop fp16 "
            f"emulation, whose own error is {emulated_error:.3g}: suspect the engine or converter",
        )
    if precision is Precision.FP32 and compute_unit is ComputeUnit.CPU:
        return Triage(
            TriageLabel.ENGINE_MISMATCH,
            f"an fp32 program on the CPU misses the reference on '{worst}' (relative L2 "
            f"{device_error:.3g}): suspect the converter or the engine",
        )
    return Triage(
        TriageLabel.UNKNOWN,
        f"'{worst}' relative L2 {device_error:.3g}; without a desktop fp16 emulation or a "
        "CPU_ONLY run, precision loss cannot be told from an engine bug",
    )


def _distance(reference: Array, left: Array, right: Array | None, step: int = 1 << 16) -> float:
    """Relative L2 between two outputs, against the reference's norm; finite positions only."""
    if right is None:
        return 0.0
    ref = np.asarray(reference).reshape(-1)
    lhs = np.asarray(left).reshape(-1)
    rhs = np.asarray(right).reshape(-1)
    num = den = 0.0
    with np.errstate(all="ignore"):
        for start in range(0, ref.size, step):
            r = ref[start : start + step].astype(np.float64)
            d = lhs[start : start + step].astype(np.float64) - rhs[start : start + step]
            d = d[np.isfinite(d)]
            r = r[np.isfinite(r)]
            # einsum, not np.dot: a threaded BLAS dot per chunk is slow on a busy machine.
            num += float(np.einsum("i,i->", d, d))
            den += float(np.einsum("i,i->", r, r))
    if den == 0:
        return 0.0 if num == 0 else math.inf
    return math.sqrt(num / den)


def _worst(reference: Outputs, device: Outputs, names: list[str]) -> tuple[str, float]:
    errors = {n: _distance(reference[n], reference[n], device[n]) for n in names}
    name = max(errors, key=lambda n: errors[n])
    return name, errors[name]


def _overflow(
    reference: Outputs,
    device: Outputs,
    failing: list[str],
    op_trace: Any,
    reference_trace: Any,
    emulated: Outputs | None,
) -> str | None:
    new = {n: _new_nonfinite(reference[n], device[n]) for n in failing}
    new = {n: c for n, c in new.items() if c}
    ops = normalize_trace(op_trace) if op_trace is not None else []
    legit = {o.name for o in normalize_trace(reference_trace) if o.nan or o.inf}
    first_op = next((o for o in ops if (o.nan or o.inf) and o.name not in legit), None)
    if not new and first_op is None:
        return None
    parts: list[str] = []
    if new:
        parts.append(
            ", ".join(
                f"'{n}' has {c} NaN/Inf where the reference is finite" for n, c in new.items()
            )
        )
    if first_op is not None:
        parts.append(
            f"first overflowing op '{first_op.name}' (NaN {first_op.nan}, Inf {first_op.inf})"
        )
    if (
        new
        and emulated is not None
        and not any(n in emulated and _new_nonfinite(reference[n], emulated[n]) for n in new)
    ):
        parts.append("the desktop fp16 emulation stays finite: the device's lowering overflows")
    return "; ".join(parts)


def _new_nonfinite(reference: Array, actual: Array) -> int:
    ref = np.asarray(reference)
    act = np.asarray(actual).reshape(ref.shape)
    return int(np.count_nonzero(np.isfinite(ref) & ~np.isfinite(act)))


def normalize_trace(trace: Any) -> list[OpStats]:
    """Per-op stats in op order from a mapping or an iterable of duck-typed stats objects."""
    if trace is None:
        return []
    items: Iterable[tuple[str, Any]]
    if isinstance(trace, Mapping):
        items = trace.items()
    else:
        items = ((str(_field(s, "name", "")), s) for s in trace)
    return [
        OpStats(
            name=name,
            nan=int(_field(s, "nan_count", "nan", 0)),
            inf=int(_field(s, "inf_count", "inf", 0)),
        )
        for name, s in items
    ]


def _field(stats: Any, *names_then_default: Any) -> Any:
    *names, default = names_then_default
    for name in names:
        if isinstance(stats, Mapping) and name in stats:
            return stats[name]
        if hasattr(stats, name):
            return getattr(stats, name)
    return default
