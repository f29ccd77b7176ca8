"""History: noise is not a regression, a real slowdown is, and parity drift is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from orchestrator.history import (
    Trend,
    compare_jobs,
    compare_runs,
    last_with_label,
    latency_shift,
    mann_whitney_greater,
)
from orchestrator.parity import compare
from orchestrator.stores.memory import MemoryJobStore
from pomar_core.errors import UsageError
from pomar_core.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    JobSpec,
    LatencyStats,
    MemoryStats,
    RunEnvironment,
    RunResult,
    RunStatus,
    Timings,
)
from tests.factories import job_spec

SHA = "c" * 64
T0 = datetime(2026, 3, 1, tzinfo=UTC)
PHONE = DeviceInfo(
    udid="00008110-000A",
    kind=DeviceKind.IOS,
    product_type="iPhone15,2",
    marketing_name="iPhone 14 Pro",
    ram_bytes=6 * 2**30,
)
TWIN = PHONE.model_copy(update={"udid": "00008110-000B"})
OTHER = PHONE.model_copy(
    update={"udid": "00008120-000C", "product_type": "iPhone15,4", "marketing_name": "iPhone 15"}
)


def samples(seed: int, n: int = 10, scale: float = 1.0, spread: float = 0.08) -> list[float]:
    """Latencies around 12 ms with a log-normal spread and a long right tail."""
    rng = np.random.default_rng(seed)
    body = rng.lognormal(np.log(12.0 * scale), spread, n)
    tail = rng.random(n) < 0.1  # a context switch now and then
    return [float(x) for x in np.where(tail, body * rng.uniform(1.2, 2.0, n), body)]


def outputs(error: float = 1e-3, seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    rng = np.random.default_rng(seed)
    ref = {"y": rng.standard_normal((1, 64)).astype(np.float32)}
    act = {"y": ref["y"] + (rng.standard_normal((1, 64)) * error).astype(np.float32)}
    return ref, act


def result(
    run_id: str,
    *,
    job_id: str = "j",
    device: DeviceInfo = PHONE,
    unit: ComputeUnit = ComputeUnit.ANE,
    status: RunStatus = RunStatus.PASSED,
    latency: list[float] | None = None,
    peak: int | None = 500 * 2**20,
    error: float = 1e-3,
    environment: RunEnvironment | None = None,
) -> RunResult:
    ref, act = outputs(error)
    return RunResult(
        run_id=run_id,
        job_id=job_id,
        device=device,
        compute_unit=unit,
        status=status,
        timings=Timings(latency=LatencyStats.from_samples(latency or samples(0))),
        memory=MemoryStats(peak_bytes=peak),
        parity=compare(ref, act, "default"),
        environment=environment,
    )


def job(job_id: str, label: str | None, at: datetime) -> JobSpec:
    return job_spec(job_id, label=label, at=at)


# -- the latency rule -----------------------------------------------------------------------


def test_two_draws_of_the_same_noisy_latency_are_never_a_regression() -> None:
    flagged = []
    for seed in range(60):
        for n in (8, 10, 50):
            shift = latency_shift(samples(2 * seed, n), samples(2 * seed + 1, n))
            if shift.trend in (Trend.REGRESSED, Trend.IMPROVED):
                flagged.append((seed, n, shift))
    assert flagged == []


def test_noise_that_moves_the_median_past_ten_percent_is_not_flagged() -> None:
    # Medians of small noisy samples cross x1.1 by chance; the rank test is what holds.
    base = [10.0, 10.4, 11.9, 12.2, 13.5, 11.0, 12.8, 10.9]
    cur = [10.2, 11.6, 13.4, 13.6, 13.9, 12.9, 12.1, 14.2]
    shift = latency_shift(base, cur)
    assert shift.ratio > 1.1
    assert shift.trend is Trend.UNCHANGED


@pytest.mark.parametrize(("factor", "bucket"), [(1.15, 1.1), (1.3, 1.2), (1.7, 1.5), (2.5, 2.0)])
def test_a_real_slowdown_is_flagged_in_its_bucket(factor: float, bucket: float) -> None:
    for seed in range(10):
        shift = latency_shift(samples(seed, 10, spread=0.02), samples(seed + 100, 10, factor, 0.02))
        assert shift.trend is Trend.REGRESSED, (seed, shift)
        assert shift.bucket == bucket


def test_a_noisy_but_real_x1_5_slowdown_is_flagged_from_ten_samples() -> None:
    for seed in range(20):
        shift = latency_shift(samples(seed), samples(seed + 500, scale=1.5))
        assert shift.trend is Trend.REGRESSED
        assert shift.bucket in (1.2, 1.5)  # a point estimate lands either side of the edge


def test_a_small_shift_is_not_flagged_however_many_samples() -> None:
    shift = latency_shift(samples(1, 2000), samples(2, 2000, scale=1.05))
    assert shift.p_value is not None
    assert shift.p_value < 1e-6
    assert shift.trend is Trend.UNCHANGED


def test_one_slow_sample_is_not_a_regression() -> None:
    base = samples(3)
    cur = [*samples(4)[:-1], 120.0]
    assert latency_shift(base, cur).trend is Trend.UNCHANGED


def test_too_few_samples_cannot_say() -> None:
    shift = latency_shift([10.0, 10.1], [30.0, 31.0])
    assert shift.trend is Trend.INSUFFICIENT
    assert shift.ratio == pytest.approx(3.0, rel=0.02)


def test_a_speedup_is_an_improvement_not_a_regression() -> None:
    shift = latency_shift(samples(5, spread=0.02), samples(6, scale=0.4, spread=0.02))
    assert shift.trend is Trend.IMPROVED
    assert shift.bucket == 2.0


def test_mann_whitney_p_value_is_close_to_the_exact_one() -> None:
    # Complete separation of 5 and 5: exact one-sided p is 1/252 = 0.00397.
    assert mann_whitney_greater([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == pytest.approx(0.004, abs=3e-3)
    # 8 and 8: 1/12870 = 7.8e-5 exactly; the approximation stays under the 0.1% test.
    assert mann_whitney_greater(list(range(9, 17)), list(range(1, 9))) < 1e-3
    assert mann_whitney_greater([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) > 0.99
    assert mann_whitney_greater([3.0] * 6, [3.0] * 6) == 1.0


# -- run and job comparisons ----------------------------------------------------------------


def test_runs_match_by_udid_then_by_product_type_and_the_rest_is_listed() -> None:
    baseline = [
        result("b1", job_id="base"),
        result("b2", job_id="base", device=TWIN, unit=ComputeUnit.CPU),
        result("b3", job_id="base", device=OTHER),
    ]
    current = [
        result("c1"),
        result("c2", unit=ComputeUnit.CPU),  # its twin ran the baseline
        result("c3", unit=ComputeUnit.GPU),  # nobody ran the GPU last time
    ]
    comparison = compare_jobs(current, baseline, job_id="j", baseline_job_id="base")
    pairs = {(r.run_id, r.baseline_run_id, r.matched_by) for r in comparison.runs}
    assert pairs == {("c1", "b1", "udid"), ("c2", "b2", "product_type")}
    assert comparison.unmatched == ("iPhone 14 Pro (00008110-000A) gpu: c3",)
    assert comparison.baseline_unmatched == ("iPhone 15 (00008120-000C) ane: b3",)
    twin = next(r for r in comparison.runs if r.run_id == "c2")
    assert "baseline ran on another iPhone 14 Pro" in twin.notes
    assert not comparison.regressed


def test_a_slower_run_is_a_regression_with_its_bucket_in_the_sentence() -> None:
    base = result("b", latency=samples(1, 20, spread=0.03))
    cur = result("c", latency=samples(2, 20, scale=1.6, spread=0.03))
    run = compare_runs(cur, base)
    assert run.latency is not None
    assert run.latency.trend is Trend.REGRESSED
    assert run.latency.bucket == 1.5
    assert run.regressions[0].startswith("latency ×1.5 slower (p50 ")


def test_memory_jitter_is_ignored_and_real_growth_is_bucketed() -> None:
    base = result("b", peak=500 * 2**20)
    assert not compare_runs(result("c", peak=512 * 2**20), base).regressions
    grown = compare_runs(result("c", peak=650 * 2**20), base)
    assert grown.memory is not None
    assert grown.memory.bucket == 1.2
    assert grown.regressions == ("peak memory ×1.2 (500 MiB → 650 MiB)",)
    smaller = compare_runs(result("c", peak=240 * 2**20), base)
    assert smaller.improvements == ("peak memory ×2 lower (500 MiB → 240 MiB)",)


def test_a_run_killed_now_that_passed_before_is_a_regression() -> None:
    cur = result("c", status=RunStatus.OOM_KILLED, peak=None)
    run = compare_runs(cur, result("b"))
    assert "status passed → oom_killed" in run.regressions


def test_a_parity_verdict_that_flips_and_an_error_that_doubles_are_drift() -> None:
    base = result("b", error=1e-3)
    cur = result("c", error=0.3)
    run = compare_runs(cur, base)
    metrics = {d.metric for d in run.drift}
    assert {"verdict", "relative_l2", "cosine_similarity"} <= metrics
    verdict = next(d for d in run.drift if d.metric == "verdict")
    assert verdict.sentence.startswith("y: passed → failed (")
    assert any(r.startswith("y: relative_l2 ") for r in run.regressions)


def test_tiny_errors_that_double_are_not_drift() -> None:
    run = compare_runs(result("c", error=3e-7), result("b", error=1e-7))
    assert run.drift == ()
    assert run.regressions == ()


def test_a_parity_fix_is_an_improvement() -> None:
    run = compare_runs(result("c", error=1e-3), result("b", error=0.3))
    assert "y: failed → passed" in run.improvements
    assert not run.regressions


def test_a_hotter_device_is_noted_beside_the_latency() -> None:
    hot = RunEnvironment(thermal_before="serious")
    cool = RunEnvironment(thermal_before="nominal")
    run = compare_runs(result("c", environment=hot), result("b", environment=cool))
    assert any("nominal → serious" in n for n in run.notes)


def test_too_few_latency_samples_are_noted_not_flagged() -> None:
    few = [30.0, 31.0, 30.5, 30.2, 30.9]
    run = compare_runs(result("c", latency=few), result("b", latency=[10.0] * 5))
    assert run.regressions == ()
    assert any("latency not compared" in n for n in run.notes)


# -- finding the baseline -------------------------------------------------------------------


def test_last_nightly_is_the_newest_job_with_the_label_before_this_one() -> None:
    store = MemoryJobStore()
    for job_id, label, days in [
        ("n1", "nightly", 0),
        ("n2", "nightly", 1),
        ("adhoc", None, 2),
        ("n3", "nightly", 3),
        ("n4", "nightly", 4),
    ]:
        store.add_job(job(job_id, label, T0 + timedelta(days=days)), [])
    assert last_with_label(store, "nightly", store.get_job("n3")).job_id == "n2"
    assert last_with_label(store, "nightly", store.get_job("adhoc")).job_id == "n2"
    with pytest.raises(UsageError, match="no job labelled 'nightly' was submitted before n1"):
        last_with_label(store, "nightly", store.get_job("n1"))
