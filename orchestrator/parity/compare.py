"""Compare a run's outputs with the reference under a tolerance policy: the ParityReport."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from orchestrator.parity.degenerate import degenerate_reason
from orchestrator.parity.metrics import compare_tensors
from orchestrator.parity.policy import EffectiveRule, TolerancePolicy, load_policy
from pomar_core.arrays import Array
from pomar_core.wire import (
    ComputeUnit,
    OutputMetrics,
    OutputParity,
    ParityReport,
    Precision,
    Verdict,
)


def compare(
    reference: Mapping[str, Array],
    actual: Mapping[str, Array],
    policy: TolerancePolicy | str | Path = "default",
    *,
    precision: Precision | str = Precision.FP16,
    compute_unit: ComputeUnit | str = ComputeUnit.ALL,
    reference_kind: str = "source_fp32",
) -> ParityReport:
    """Judge every reference output against the same-named actual output.

    Parameters:
        reference: reference outputs by name (arrays or memory-mapped ``.npy``).
        actual: the run's outputs by name. A reference output missing here fails; an extra
            output here is not judged (there is nothing to judge it by) and is listed in the
            report's ``extra_outputs``.
        policy: a :class:`TolerancePolicy`, a preset name, a TOML path or TOML text.
        precision: the model's compute precision; selects the policy's rules.
        compute_unit: the run's compute unit; selects the policy's rules.
        reference_kind: what produced the reference, carried into the report.

    Raises:
        ToleranceError: the policy does not load.
    """
    resolved = load_policy(policy)
    precision = Precision(precision)
    compute_unit = ComputeUnit(compute_unit)
    outputs = tuple(
        compare_output(
            name,
            np.asarray(ref),
            actual.get(name),
            resolved.resolve(name, precision, compute_unit),
        )
        for name, ref in reference.items()
    )
    failed = any(o.verdict is Verdict.FAILED for o in outputs)
    return ParityReport(
        reference_kind=reference_kind,
        tolerance=resolved.name,
        outputs=outputs,
        verdict=Verdict.FAILED if failed else Verdict.PASSED,
        extra_outputs=tuple(sorted(name for name in actual if name not in reference)),
    )


def shapes_match(reference: tuple[int, ...], actual: tuple[int, ...]) -> bool:
    """Equal, or equal once size-1 axes are dropped (Core ML adds or drops batch axes)."""
    if reference == actual:
        return True
    return tuple(d for d in reference if d != 1) == tuple(d for d in actual if d != 1)


def compare_output(
    name: str, reference: Array, actual: Array | None, rule: EffectiveRule
) -> OutputParity:
    """One output judged by its effective rule; never raises on a bad shape or a missing output."""
    ref_shape = tuple(int(d) for d in reference.shape)
    if actual is None:
        return _failed(name, reference, None, "output is missing from the run's outputs")
    actual = np.asarray(actual)
    act_shape = tuple(int(d) for d in actual.shape)
    if not shapes_match(ref_shape, act_shape):
        return _failed(
            name, reference, actual, f"shape {act_shape} differs from the reference's {ref_shape}"
        )
    comparison = compare_tensors(reference, actual.reshape(reference.shape), rule.params, name=name)
    metrics = comparison.metrics
    failures = rule.failures(metrics)
    notes: list[str] = []
    if act_shape != ref_shape:
        notes.append(
            f"shape {act_shape} compared as the reference's {ref_shape} (size-1 axes differ)"
        )
    if reference.dtype.kind != actual.dtype.kind:
        notes.append(f"{actual.dtype} output compared with a {reference.dtype} reference")
    if comparison.scores and rule.params.scores is None:
        notes.append("judged as class scores (top-1/top-k), from its name and shape")
    if comparison.new_nonfinite and not rule.allow_nonfinite:
        failures.insert(0, _nonfinite_sentence(metrics, comparison.new_nonfinite))
    elif comparison.new_nonfinite:
        notes.append(
            f"{comparison.new_nonfinite} non-finite values where the reference is finite, "
            "allowed by the policy"
        )
    elif comparison.nonfinite_mismatch > comparison.new_nonfinite:
        # The reference has NaN/Inf the run does not: the reference itself is suspect.
        gone = comparison.nonfinite_mismatch - comparison.new_nonfinite
        failures.append(f"{gone} positions are NaN/Inf in the reference but not in the output")
    return OutputParity(
        name=name,
        reference_shape=ref_shape,
        actual_shape=act_shape,
        dtype=str(actual.dtype),
        metrics=metrics,
        verdict=Verdict.FAILED if failures else Verdict.PASSED,
        failures=tuple(failures),
        notes=tuple(notes),
        worst_index=comparison.worst_index,
        worst_reference=comparison.worst_reference,
        worst_actual=comparison.worst_actual,
        degenerate=degenerate_reason(reference, metrics),
    )


def _nonfinite_sentence(metrics: OutputMetrics, count: int) -> str:
    return (
        f"{count} non-finite values where the reference is finite "
        f"(output NaN {metrics.actual_nan}, Inf {metrics.actual_inf}; "
        f"reference NaN {metrics.reference_nan}, Inf {metrics.reference_inf})"
    )


def _failed(name: str, reference: Array, actual: Array | None, reason: str) -> OutputParity:
    return OutputParity(
        name=name,
        reference_shape=tuple(int(d) for d in reference.shape),
        actual_shape=None if actual is None else tuple(int(d) for d in actual.shape),
        dtype=str((actual if actual is not None else reference).dtype),
        metrics=OutputMetrics(),
        verdict=Verdict.FAILED,
        failures=(reason,),
    )
