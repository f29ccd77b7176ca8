from __future__ import annotations

from orchestrator.parity import check_budgets, unchecked_budgets
from pomar_core.wire import Budgets, DeviceInfo, DeviceKind, LatencyStats, MemoryStats, Timings

PHONE = DeviceInfo(
    udid="u1",
    kind=DeviceKind.IOS,
    product_type="iPhone15,2",
    marketing_name="iPhone 14 Pro",
    ram_bytes=6 * 2**30,
)
TIMINGS = Timings(latency=LatencyStats.from_samples([10.0, 11.0, 12.0, 30.0]))
MEMORY = MemoryStats(peak_bytes=4 * 2**30)


def test_no_budgets_means_no_violations() -> None:
    assert check_budgets(TIMINGS, MEMORY, Budgets(), PHONE) == []


def test_each_broken_budget_is_one_sentence() -> None:
    budgets = Budgets(p50_ms=5, p90_ms=100, peak_memory_bytes=2**30, peak_memory_share_of_ram=0.5)
    out = check_budgets(TIMINGS, MEMORY, budgets, PHONE)
    assert out == [
        "p50 latency 11.5 ms exceeds the budget of 5 ms",
        "peak memory 4 GiB exceeds the budget of 1 GiB",
        "peak memory 4 GiB is 67% of iPhone 14 Pro's 6 GiB RAM, over the 50% budget",
    ]


def test_missing_measurements_are_not_violations_but_are_reported_as_unchecked() -> None:
    budgets = Budgets(p90_ms=1, peak_memory_share_of_ram=0.5)
    emulator = PHONE.model_copy(update={"ram_bytes": None})
    assert check_budgets(Timings(), MemoryStats(peak_bytes=10), budgets, emulator) == []
    assert unchecked_budgets(Timings(), MemoryStats(peak_bytes=10), budgets, emulator) == [
        "latency budget not checked: the run has no latency samples",
        "share-of-RAM budget not checked: iPhone 14 Pro's RAM is unknown",
    ]
