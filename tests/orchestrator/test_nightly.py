"""Nightly regressions on synthetic series: noise is quiet, real steps are flagged."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from orchestrator.history.nightly import FlagKind, NightVerdict, confirm, evaluate
from orchestrator.history.series import NightPoint, SeriesKey, mark_hot
from pomar_core.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    RunEnvironment,
    RunResult,
    RunStatus,
)

KEY = SeriesKey("resnet.mlpackage", "iPhone15,2", "17.5", "ane")
START = datetime(2026, 1, 1, 2, tzinfo=UTC)


def night(
    n: int,
    rng: random.Random,
    *,
    scale: float = 1.0,
    os_version: str = "17.5",
    converter: str = "coremltools 8.0",
    status: RunStatus = RunStatus.PASSED,
    peak: int = 100 * 2**20,
    parity: float = 1e-3,
    ane: float = 0.9,
    hot: bool = False,
) -> NightPoint:
    """One night: a nightly drift of 3% and 30 samples with 5% noise and a few delayed ones."""
    level = 10.0 * scale * rng.lognormvariate(0, 0.03)
    samples = [level * rng.lognormvariate(0, 0.05) for _ in range(30)]
    for i in rng.sample(range(30), 2):
        samples[i] *= 1.5  # a context switch
    return NightPoint(
        job_id=f"job-{n}",
        run_id=f"run-{n}",
        at=START + timedelta(days=n),
        status=status,
        device_udid="phone-1",
        os_version=os_version,
        converter=converter,
        latency_ms=tuple(samples),
        peak_bytes=int(peak * rng.uniform(0.98, 1.02)),
        parity_error=parity * rng.uniform(0.8, 1.2),
        ane_share=ane,
        hot=hot,
    )


def series(count: int, seed: int = 0) -> list[NightPoint]:
    rng = random.Random(seed)
    return [night(n, rng) for n in range(count)]


def kinds(verdict: NightVerdict) -> set[FlagKind]:
    return {f.kind for f in verdict.flags}


def test_two_hundred_noise_nights_raise_no_flag() -> None:
    nights = series(200)
    flagged = [n for n in range(1, 200) if evaluate(KEY, nights[:n], nights[n]).flags]
    assert flagged == []


def test_too_little_history_is_noted_not_flagged() -> None:
    nights = series(3)
    rng = random.Random(1)
    verdict = evaluate(KEY, nights, night(3, rng, scale=2.0))
    assert verdict.flags == ()
    assert "not compared yet" in verdict.notes[0]


def test_a_real_step_is_flagged_slower_in_its_bucket() -> None:
    nights = series(30)
    verdict = evaluate(KEY, nights, night(30, random.Random(7), scale=1.3))
    (flag,) = verdict.flags
    assert flag.kind is FlagKind.SLOWER
    assert flag.bucket == 1.2
    big = evaluate(KEY, nights, night(30, random.Random(7), scale=2.4))
    assert big.flags[0].bucket == 2.0


def test_a_rerun_confirms_a_real_step_and_clears_a_transient_one() -> None:
    nights = series(30)
    first = evaluate(KEY, nights, night(30, random.Random(7), scale=1.3))
    slow_again = evaluate(KEY, nights, night(31, random.Random(8), scale=1.3))
    kept = confirm(first, slow_again)
    assert kept.confirmed is True
    assert kinds(kept) == {FlagKind.SLOWER}
    fine_again = evaluate(KEY, nights, night(31, random.Random(8)))
    cleared = confirm(first, fine_again)
    assert cleared.confirmed is False
    assert cleared.flags == ()
    assert "not confirmed on re-run: slower" in cleared.notes


def test_an_ios_update_starts_a_new_segment_and_is_called_out_never_flagged() -> None:
    nights = series(30)
    rng = random.Random(3)
    updated = night(30, rng, scale=1.3, os_version="17.6")
    verdict = evaluate(KEY, nights, updated)
    assert verdict.flags == ()
    assert verdict.callouts == ("iOS 17.5 → 17.6 on iPhone15,2: new segment",)
    # The new segment is compared with itself once it has history.
    later = [updated, *(night(31 + i, rng, scale=1.3, os_version="17.6") for i in range(6))]
    assert (
        evaluate(KEY, [*nights, *later], night(40, rng, scale=1.3, os_version="17.6")).flags == ()
    )


def test_a_converter_change_is_called_out_the_same_way() -> None:
    nights = series(30)
    changed = night(30, random.Random(3), scale=1.5, converter="coremltools 8.1")
    verdict = evaluate(KEY, nights, changed)
    assert verdict.flags == ()
    assert verdict.callouts == ("coremltools 8.0 → coremltools 8.1: new segment",)


def test_started_and_stopped_failing_are_flagged_even_without_history() -> None:
    nights = series(2)
    rng = random.Random(4)
    failing = night(2, rng, status=RunStatus.PARITY_FAILED)
    assert kinds(evaluate(KEY, nights, failing)) == {FlagKind.STARTED_FAILING}
    recovered = evaluate(KEY, [*nights, failing], night(3, rng))
    assert kinds(recovered) == {FlagKind.STOPPED_FAILING}
    assert recovered.regressions == ()


def test_memory_parity_and_neural_engine_share_are_flagged_when_they_move() -> None:
    nights = series(20)
    rng = random.Random(5)
    assert kinds(evaluate(KEY, nights, night(20, rng, peak=130 * 2**20))) == {FlagKind.MORE_MEMORY}
    assert kinds(evaluate(KEY, nights, night(20, rng, parity=5e-3))) == {FlagKind.PARITY_DRIFT}
    assert kinds(evaluate(KEY, nights, night(20, rng, ane=0.4))) == {FlagKind.ANE_SHARE_DROPPED}


def test_a_hot_night_is_noted_and_not_compared() -> None:
    nights = series(20)
    verdict = evaluate(KEY, nights, night(20, random.Random(6), scale=1.5, hot=True))
    assert verdict.flags == ()
    assert "taken hot" in verdict.notes[0]


def result(environment: RunEnvironment | None = None) -> RunResult:
    device = DeviceInfo(udid="p", kind=DeviceKind.IOS, product_type="iPhone15,2", marketing_name="")
    return RunResult(
        run_id="r",
        job_id="j",
        device=device,
        compute_unit=ComputeUnit.ANE,
        status=RunStatus.PASSED,
        environment=environment,
    )


def test_a_result_taken_at_thermal_serious_is_marked() -> None:
    hot = result(RunEnvironment(thermal_before="fair", thermal_after="serious"))
    marked = mark_hot(hot)
    assert any("thermal state serious" in w for w in marked.warnings)
    assert mark_hot(marked) == marked
    assert mark_hot(result()) == result()
