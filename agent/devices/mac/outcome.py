"""Turn what the Mac measured into a :class:`RunOutcome` (nanoseconds to milliseconds)."""

from __future__ import annotations

from dataclasses import dataclass

from agent.device import Outcome, RunOutcome
from agent.devices.mac.timing import LoopTimings
from pomar_core.arrays import Arrays
from pomar_core.wire import ComputePlanEntry, LatencyStats, MemoryStats, Timings


@dataclass(frozen=True)
class MacMeasurement:
    compile_ns: int | None
    cold_load_ns: int
    warm_load_ns: int
    loop: LoopTimings
    outputs: Arrays
    baseline_bytes: int | None
    after_load_bytes: int | None
    peak_bytes: int | None
    compute_plan: tuple[ComputePlanEntry, ...] = ()
    warnings: tuple[str, ...] = ()


def ms(ns: int | None) -> float | None:
    return None if ns is None else ns / 1e6


def completed_outcome(m: MacMeasurement) -> RunOutcome:
    """A ``completed`` outcome with phase timings, latency statistics and memory."""
    return RunOutcome(
        Outcome.COMPLETED,
        outputs=m.outputs,
        timings=Timings(
            compile_ms=ms(m.compile_ns),
            cold_load_ms=ms(m.cold_load_ns),
            warm_load_ms=ms(m.warm_load_ns),
            first_prediction_ms=ms(m.loop.first_prediction_ns),
            latency=LatencyStats.from_samples([ns / 1e6 for ns in m.loop.prediction_ns]),
        ),
        memory=MemoryStats(
            peak_bytes=m.peak_bytes,
            baseline_bytes=m.baseline_bytes,
            after_load_bytes=m.after_load_bytes,
            source="phys_footprint" if m.peak_bytes is not None else None,
        ),
        compute_plan=m.compute_plan,
        warnings=m.warnings,
    )


def error_outcome(message: str, *, warnings: tuple[str, ...] = ()) -> RunOutcome:
    return RunOutcome(Outcome.ERROR, error=" ".join(message.split()), warnings=warnings)
