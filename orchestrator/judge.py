"""Turns a completed run into a verdict: parity against the reference, then budgets."""

from __future__ import annotations

from orchestrator.parity import (
    OpStats,
    TolerancePolicy,
    check_budgets,
    compare,
    load_policy,
    triage,
)
from pomar_core.arrays import Arrays
from pomar_core.artifacts import ArtifactStore, load_array, load_arrays
from pomar_core.errors import PomarError
from pomar_core.wire import (
    DeviceKind,
    JobSpec,
    ParityReport,
    Precision,
    RunResult,
    RunStatus,
    Verdict,
)


def judge(result: RunResult, job: JobSpec, artifacts: ArtifactStore) -> RunResult:
    """The final result: ``passed``, ``parity_failed`` or ``budget_failed`` for a run that
    completed; any other status is already a result and passes through unchanged."""
    if job.inputs.warnings:
        # Input warnings (NaN in the inputs) belong in every report of every run.
        extra = tuple(w for w in job.inputs.warnings if w not in result.warnings)
        result = result.model_copy(update={"warnings": result.warnings + extra})
    if result.status is not RunStatus.PASSED or job.reference is None:
        return result
    try:
        reference = load_arrays(artifacts, job.reference.sha256)
        actual = {out.name: load_array(artifacts, out.sha256) for out in result.outputs}
        policy = load_policy(job.config.tolerance)
    except PomarError as exc:
        return result.model_copy(update={"status": RunStatus.ERROR, "error": exc.one_line()})
    report = compare(
        reference,
        actual,
        policy,
        precision=_precision(result, job),
        compute_unit=result.compute_unit,
        reference_kind=job.reference.kind.value,
    )
    status = RunStatus.PASSED if report.verdict is Verdict.PASSED else RunStatus.PARITY_FAILED
    if status is RunStatus.PARITY_FAILED:
        report = _with_triage(report, reference, actual, policy, result, job, artifacts)
    over_budget = check_budgets(result.timings, result.memory, job.config.budgets, result.device)
    if status is RunStatus.PASSED and over_budget:
        status = RunStatus.BUDGET_FAILED
    return result.model_copy(
        update={"status": status, "parity": report, "budget_violations": tuple(over_budget)}
    )


def _with_triage(
    report: ParityReport,
    reference: Arrays,
    actual: Arrays,
    policy: TolerancePolicy,
    result: RunResult,
    job: JobSpec,
    artifacts: ArtifactStore,
) -> ParityReport:
    """Label whose fault the failure most likely is, with the desktop fp16 run as witness."""
    emulated: Arrays | None = None
    op_trace: list[OpStats] | None = None
    if job.desktop_fp16 is not None:
        try:
            emulated = load_arrays(artifacts, job.desktop_fp16.sha256)
        except PomarError:
            emulated = None
        op_trace = [OpStats(op.name, op.nan, op.inf) for op in job.desktop_fp16.nonfinite_ops]
    found = triage(
        reference,
        actual,
        policy=policy,
        precision=_precision(result, job),
        compute_unit=result.compute_unit,
        emulated_fp16=emulated,
        op_trace=op_trace,
    )
    return report.model_copy(update={"triage": found.label, "triage_detail": found.detail})


def _precision(result: RunResult, job: JobSpec) -> Precision:
    """What precision the outputs were computed in, as far as we know."""
    if result.device.kind is DeviceKind.EMULATED:
        return job.config.precision
    return job.model.precision or Precision.FP16
