"""Latency and memory budgets: which ones a run broke, as sentences for the report."""

from __future__ import annotations

from pomar_core.wire import Budgets, DeviceInfo, MemoryStats, Timings


def check_budgets(
    timings: Timings, memory: MemoryStats, budgets: Budgets, device: DeviceInfo
) -> list[str]:
    """One sentence per violated budget; empty when every budget holds.

    A budget whose measurement is missing (no latency samples, no peak memory, no known RAM for
    a share-of-RAM budget) is not a violation: see :func:`unchecked_budgets` to report those.
    """
    out: list[str] = []
    latency = timings.latency
    if latency is not None:
        if budgets.p50_ms is not None and latency.p50_ms > budgets.p50_ms:
            out.append(
                f"p50 latency {latency.p50_ms:.3g} ms exceeds the budget of {budgets.p50_ms:.3g} ms"
            )
        if budgets.p90_ms is not None and latency.p90_ms > budgets.p90_ms:
            out.append(
                f"p90 latency {latency.p90_ms:.3g} ms exceeds the budget of {budgets.p90_ms:.3g} ms"
            )
    peak = memory.peak_bytes
    if peak is not None:
        if budgets.peak_memory_bytes is not None and peak > budgets.peak_memory_bytes:
            out.append(
                f"peak memory {format_bytes(peak)} exceeds the budget of "
                f"{format_bytes(budgets.peak_memory_bytes)}"
            )
        share = budgets.peak_memory_share_of_ram
        if share is not None and device.ram_bytes and peak > share * device.ram_bytes:
            out.append(
                f"peak memory {format_bytes(peak)} is {peak / device.ram_bytes:.0%} of "
                f"{device.marketing_name}'s {format_bytes(device.ram_bytes)} RAM, over the "
                f"{share:.0%} budget"
            )
    return out


def unchecked_budgets(
    timings: Timings, memory: MemoryStats, budgets: Budgets, device: DeviceInfo
) -> list[str]:
    """Budgets that were set but could not be checked, one sentence each."""
    out: list[str] = []
    if (budgets.p50_ms is not None or budgets.p90_ms is not None) and timings.latency is None:
        out.append("latency budget not checked: the run has no latency samples")
    has_memory_budget = (
        budgets.peak_memory_bytes is not None or budgets.peak_memory_share_of_ram is not None
    )
    if has_memory_budget and memory.peak_bytes is None:
        out.append("memory budget not checked: the run has no peak memory")
    elif budgets.peak_memory_share_of_ram is not None and not device.ram_bytes:
        out.append(f"share-of-RAM budget not checked: {device.marketing_name}'s RAM is unknown")
    return out


def format_bytes(n: float) -> str:
    """Binary units, three significant digits: ``1.5 GiB``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(value) < 1024 or unit == "GiB":
            return f"{value:.3g} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.3g} GiB"  # pragma: no cover
