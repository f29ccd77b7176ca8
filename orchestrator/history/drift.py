"""A job's results against a baseline job's: latency, memory, status and parity drift.

Runs are matched by (device, compute unit): the same device by udid first, then, for runs left
over, a device of the same product type (a nightly may land on another iPhone 15 Pro of the
pool). Outputs are matched by name. Everything here is pure: it reads results, not the store.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from orchestrator.history.stats import MIN_SAMPLES, Trend, bucket_of, latency_shift
from orchestrator.parity.budgets import format_bytes
from pomar_core.wire import OutputParity, RunResult, RunStatus, Verdict
from pomar_core.wire.base import WireModel


@dataclass(frozen=True)
class DriftThresholds:
    """How much worse a metric may get before it is parity drift, and the memory noise floor.

    A relative metric must both grow by ``factor`` and by an absolute step, so that an error
    going from 1e-7 to 3e-7 (both perfect) is not drift.
    """

    factor: float = 2.0
    relative_l2_step: float = 1e-4
    cosine_step: float = 1e-5
    """On ``1 - cosine``."""
    agreement_step: float = 0.01
    """On top-1 agreement and top-k overlap (shares of rows)."""
    outside_step: float = 0.01
    """On the share of elements outside the tolerance."""
    memory_floor_bytes: int = 16 * 2**20
    """Peak-footprint jitter between two identical runs of the same app."""


class LatencyChange(WireModel):
    baseline_p50_ms: float
    current_p50_ms: float
    ratio: float
    trend: Trend
    bucket: float | None = None
    p_value: float | None = None
    samples: tuple[int, int]
    """(baseline, current) sample counts."""


class MemoryChange(WireModel):
    baseline_bytes: int
    current_bytes: int
    ratio: float
    trend: Trend
    bucket: float | None = None


class ParityDrift(WireModel):
    output: str
    metric: str
    baseline: float | None
    current: float | None
    sentence: str


class RunComparison(WireModel):
    """One (device, compute unit) of the job against its baseline run."""

    device: str
    """Marketing name and udid of the current run's device."""
    product_type: str
    compute_unit: str
    matched_by: Literal["udid", "product_type"]
    run_id: str
    baseline_run_id: str
    status: RunStatus
    baseline_status: RunStatus
    latency: LatencyChange | None = None
    memory: MemoryChange | None = None
    drift: tuple[ParityDrift, ...] = ()
    regressions: tuple[str, ...] = ()
    """One sentence per regression; empty when nothing got worse."""
    improvements: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """Context that is neither, e.g. a hotter device or too few latency samples."""


class JobComparison(WireModel):
    """Every matched run, and the runs either side could not match."""

    job_id: str
    baseline_job_id: str
    runs: tuple[RunComparison, ...]
    unmatched: tuple[str, ...] = ()
    """Runs of the job with no baseline run on the same device or product type."""
    baseline_unmatched: tuple[str, ...] = ()
    """Baseline runs the job has no counterpart for (a device or unit not run this time)."""

    @property
    def regressed(self) -> bool:
        return any(r.regressions for r in self.runs)


def compare_jobs(
    current: Sequence[RunResult],
    baseline: Sequence[RunResult],
    *,
    job_id: str,
    baseline_job_id: str,
    thresholds: DriftThresholds = DriftThresholds(),
) -> JobComparison:
    """Compare a job's finished runs with a baseline job's, run by run."""
    pairs, unmatched, left = _match(current, baseline)
    return JobComparison(
        job_id=job_id,
        baseline_job_id=baseline_job_id,
        runs=tuple(compare_runs(c, b, how, thresholds) for c, b, how in pairs),
        unmatched=tuple(_describe(r) for r in unmatched),
        baseline_unmatched=tuple(_describe(r) for r in left),
    )


def compare_runs(
    current: RunResult,
    baseline: RunResult,
    matched_by: Literal["udid", "product_type"] = "udid",
    thresholds: DriftThresholds = DriftThresholds(),
) -> RunComparison:
    """One run against its baseline run."""
    regressions: list[str] = []
    improvements: list[str] = []
    notes: list[str] = []
    if current.status is not baseline.status:
        sentence = f"status {baseline.status.value} → {current.status.value}"
        if baseline.status is RunStatus.PASSED and current.status.finished:
            regressions.append(sentence)
        elif current.status is RunStatus.PASSED:
            improvements.append(sentence)
        else:
            notes.append(sentence)
    latency = _latency(current, baseline, regressions, improvements, notes)
    memory = _memory(current, baseline, thresholds, regressions, improvements)
    drift = _drift(current, baseline, thresholds, regressions, improvements)
    if current.device.udid != baseline.device.udid:
        notes.append(f"baseline ran on another {baseline.device.marketing_name}")
    notes += _environment_notes(current, baseline)
    return RunComparison(
        device=f"{current.device.marketing_name} ({current.device.udid})",
        product_type=current.device.product_type,
        compute_unit=current.compute_unit.value,
        matched_by=matched_by,
        run_id=current.run_id,
        baseline_run_id=baseline.run_id,
        status=current.status,
        baseline_status=baseline.status,
        latency=latency,
        memory=memory,
        drift=drift,
        regressions=tuple(regressions),
        improvements=tuple(improvements),
        notes=tuple(notes),
    )


def _match(
    current: Sequence[RunResult], baseline: Sequence[RunResult]
) -> tuple[
    list[tuple[RunResult, RunResult, Literal["udid", "product_type"]]],
    list[RunResult],
    list[RunResult],
]:
    left = list(baseline)
    pairs: list[tuple[RunResult, RunResult, Literal["udid", "product_type"]]] = []
    waiting: list[RunResult] = []
    for run in current:
        found = next((b for b in left if _key(b, "udid") == _key(run, "udid")), None)
        if found is None:
            waiting.append(run)
            continue
        left.remove(found)
        pairs.append((run, found, "udid"))
    unmatched: list[RunResult] = []
    for run in waiting:
        found = next((b for b in left if _key(b, "product") == _key(run, "product")), None)
        if found is None:
            unmatched.append(run)
            continue
        left.remove(found)
        pairs.append((run, found, "product_type"))
    return pairs, unmatched, left


def _key(r: RunResult, by: str) -> tuple[str, str]:
    device = r.device.udid if by == "udid" else r.device.product_type
    return device, r.compute_unit.value


def _describe(r: RunResult) -> str:
    return f"{r.device.marketing_name} ({r.device.udid}) {r.compute_unit.value}: {r.run_id}"


def _latency(
    current: RunResult,
    baseline: RunResult,
    regressions: list[str],
    improvements: list[str],
    notes: list[str],
) -> LatencyChange | None:
    cur, base = current.timings.latency, baseline.timings.latency
    if cur is None or base is None:
        return None
    shift = latency_shift(base.samples_ms, cur.samples_ms)
    change = LatencyChange(
        baseline_p50_ms=base.p50_ms,
        current_p50_ms=cur.p50_ms,
        ratio=shift.ratio,
        trend=shift.trend,
        bucket=shift.bucket,
        p_value=shift.p_value,
        samples=(len(base.samples_ms), len(cur.samples_ms)),
    )
    where = f"p50 {base.p50_ms:.3g} → {cur.p50_ms:.3g} ms"
    if shift.trend is Trend.REGRESSED:
        regressions.append(f"latency ×{shift.bucket:g} slower ({where}, p={shift.p_value:.2g})")
    elif shift.trend is Trend.IMPROVED:
        improvements.append(f"latency ×{shift.bucket:g} faster ({where})")
    elif shift.trend is Trend.INSUFFICIENT:
        notes.append(
            f"latency not compared: {change.samples[0]} and {change.samples[1]} samples "
            f"(at least {MIN_SAMPLES} a side are needed to tell a change from noise)"
        )
    return change


def _memory(
    current: RunResult,
    baseline: RunResult,
    thresholds: DriftThresholds,
    regressions: list[str],
    improvements: list[str],
) -> MemoryChange | None:
    cur, base = current.memory.peak_bytes, baseline.memory.peak_bytes
    if cur is None or base is None:
        return None
    ratio = cur / base if base > 0 else (math.inf if cur > 0 else 1.0)
    step = abs(cur - base)
    trend = Trend.UNCHANGED
    bucket = None
    if step > thresholds.memory_floor_bytes:
        if ratio > 1 and (bucket := bucket_of(ratio)) is not None:
            trend = Trend.REGRESSED
        elif ratio < 1 and (bucket := bucket_of(1 / ratio if ratio > 0 else math.inf)):
            trend = Trend.IMPROVED
    where = f"{format_bytes(base)} → {format_bytes(cur)}"
    if trend is Trend.REGRESSED:
        regressions.append(f"peak memory ×{bucket:g} ({where})")
    elif trend is Trend.IMPROVED:
        improvements.append(f"peak memory ×{bucket:g} lower ({where})")
    return MemoryChange(
        baseline_bytes=base, current_bytes=cur, ratio=ratio, trend=trend, bucket=bucket
    )


def _drift(
    current: RunResult,
    baseline: RunResult,
    thresholds: DriftThresholds,
    regressions: list[str],
    improvements: list[str],
) -> tuple[ParityDrift, ...]:
    if current.parity is None or baseline.parity is None:
        return ()
    before = {o.name: o for o in baseline.parity.outputs}
    drift: list[ParityDrift] = []
    for now in current.parity.outputs:
        then = before.get(now.name)
        if then is None:
            continue
        if then.verdict is Verdict.PASSED and now.verdict is Verdict.FAILED:
            drift.append(
                ParityDrift(
                    output=now.name,
                    metric="verdict",
                    baseline=None,
                    current=None,
                    sentence=f"{now.name}: passed → failed"
                    + (f" ({now.failures[0]})" if now.failures else ""),
                )
            )
        elif then.verdict is Verdict.FAILED and now.verdict is Verdict.PASSED:
            improvements.append(f"{now.name}: failed → passed")
        drift += _worse_metrics(now, then, thresholds)
    regressions += [d.sentence for d in drift]
    return tuple(drift)


def _worse_metrics(now: OutputParity, then: OutputParity, t: DriftThresholds) -> list[ParityDrift]:
    out: list[ParityDrift] = []
    m, b = now.metrics, then.metrics

    def add(metric: str, old: float | None, new: float | None, how: str) -> None:
        out.append(
            ParityDrift(
                output=now.name,
                metric=metric,
                baseline=old,
                current=new,
                sentence=f"{now.name}: {metric} {_num(old)} → {_num(new)} ({how})",
            )
        )

    if _grew(b.relative_l2, m.relative_l2, t.factor, t.relative_l2_step):
        add("relative_l2", b.relative_l2, m.relative_l2, f"over ×{t.factor:g}")
    old_gap = None if b.cosine_similarity is None else 1 - b.cosine_similarity
    new_gap = None if m.cosine_similarity is None else 1 - m.cosine_similarity
    if _grew(old_gap, new_gap, t.factor, t.cosine_step):
        add("cosine_similarity", b.cosine_similarity, m.cosine_similarity, "further from 1")
    for name in ("top1_agreement", "topk_overlap"):
        old, new = getattr(b, name), getattr(m, name)
        if old is not None and new is not None and old - new > t.agreement_step:
            add(name, old, new, "fewer rows agree")
    old_out, new_out = b.share_outside_tolerance, m.share_outside_tolerance
    if _grew(old_out, new_out, t.factor, t.outside_step):
        add("share_outside_tolerance", old_out, new_out, f"over ×{t.factor:g}")
    old_bad = b.actual_nan + b.actual_inf
    new_bad = m.actual_nan + m.actual_inf
    if new_bad > old_bad:
        add("nonfinite", float(old_bad), float(new_bad), "more NaN/Inf in the output")
    return out


def _grew(old: float | None, new: float | None, factor: float, step: float) -> bool:
    if old is None or new is None or not math.isfinite(old):
        return False
    return new - old > step and new > old * factor


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


def _environment_notes(current: RunResult, baseline: RunResult) -> list[str]:
    """Device state that explains a latency change without any code change."""
    notes: list[str] = []
    cur, base = current.environment, baseline.environment
    if cur is None or base is None:
        return notes
    if cur.thermal_before and base.thermal_before and cur.thermal_before != base.thermal_before:
        notes.append(
            f"thermal state at start {base.thermal_before} → {cur.thermal_before}: "
            "latency may differ for that reason"
        )
    if cur.low_power_mode and not base.low_power_mode:
        notes.append("Low Power Mode was on for this run, not for the baseline")
    return notes
