"""The measurement loop, the same as the app's ``TimingLoop``: first prediction, warm-up, then
timed predictions until both the iteration count and the minimum duration are met.

Times are integer nanoseconds from ``time.perf_counter_ns``, which on macOS reads
``mach_absolute_time`` — the clock the app reads as ``CLOCK_UPTIME_RAW``. Only the predict call
sits between the two clock reads; ``after_each`` (memory sampling) runs outside them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
Clock = Callable[[], int]

MAX_SAMPLES = 100_000
"""Ceiling on timed samples, as in the app: a tiny model and a long minimum duration must not
produce an unbounded result."""


@dataclass(frozen=True)
class LoopTimings:
    first_prediction_ns: int
    warmup_ns: tuple[int, ...]
    prediction_ns: tuple[int, ...]


def time_call(fn: Callable[[], T], clock: Clock = time.perf_counter_ns) -> tuple[T, int]:
    """Call ``fn`` once; return its result and the nanoseconds it took."""
    start = clock()
    result = fn()
    return result, clock() - start


def measure_predictions(
    predict: Callable[[], object],
    *,
    warmup: int,
    iterations: int,
    min_duration_s: float,
    clock: Clock = time.perf_counter_ns,
    max_samples: int = MAX_SAMPLES,
    after_each: Callable[[str, int], object] | None = None,
) -> LoopTimings:
    """Run the loop; an exception from ``predict`` propagates and ends it."""
    iterations = max(1, iterations)
    max_samples = max(iterations, max_samples)
    min_duration_ns = int(max(0.0, min_duration_s) * 1e9)

    def after(phase: str, index: int) -> None:
        if after_each is not None:
            after_each(phase, index)

    _, first = time_call(predict, clock)
    after("first_prediction", 0)
    warm: list[int] = []
    for index in range(max(0, warmup)):
        warm.append(time_call(predict, clock)[1])
        after("warmup", index)
    samples: list[int] = []
    phase_start = clock()
    while len(samples) < max_samples:
        if len(samples) >= iterations and clock() - phase_start >= min_duration_ns:
            break
        samples.append(time_call(predict, clock)[1])
        after("predictions", len(samples) - 1)
    return LoopTimings(first, tuple(warm), tuple(samples))
