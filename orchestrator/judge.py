"""Turns a completed run into a verdict: parity against the reference, then budgets."""

from __future__ import annotations

from orchestrator.artifacts import ArtifactStore, load_array, load_arrays
from orchestrator.errors import PomarError
from orchestrator.parity import check_budgets, compare, load_policy
from orchestrator.wire import DeviceKind, JobSpec, Precision, RunResult, RunStatus


def judge(result: RunResult, job: JobSpec, artifacts: ArtifactStore) -> RunResult:
    """The final result: ``passed``, ``parity_failed`` or ``budget_failed`` for a run that
    completed; any other status is already a result and passes through unchanged."""
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
    status = RunStatus.PASSED if report.verdict.value == "passed" else RunStatus.PARITY_FAILED
    over_budget = check_budgets(result.timings, result.memory, job.config.budgets, result.device)
    error = result.error
    if status is RunStatus.PASSED and over_budget:
        status = RunStatus.BUDGET_FAILED
        error = "; ".join(over_budget)
    return result.model_copy(update={"status": status, "parity": report, "error": error})


def _precision(result: RunResult, job: JobSpec) -> Precision:
    """What precision the outputs were computed in, as far as we know."""
    if result.device.kind is DeviceKind.EMULATED:
        return job.config.precision
    return job.model.precision or Precision.FP16
