"""Throughput of parity.compare() against a plain numpy pass over the same arrays.

The baseline, ``np.abs(actual - reference).max()``, is about the least work a comparison can do
(it reads both arrays once and writes two temporaries): close to the memory bandwidth. compare()
computes every metric of the report in a streaming pass. Both are timed here in the same run, on
the same arrays, interleaved (baseline, ours, baseline, ours, ...) so that a neighbour stealing
the CPU hits both; the median of the repeats is reported. The ratio is what to watch (issue 4
aims for at most 3x). The extra memory compare() allocates is measured with tracemalloc (numpy
reports its buffers to it) as a share of one output's size: it must stay far below one copy.

    python benchmarks/bench_parity.py [--mb 1 10 100] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from orchestrator.parity import compare
from pomar_core.arrays import Array

PAIRS: tuple[tuple[str, Any, Any], ...] = (
    ("fp32 vs fp32", np.float32, np.float32),
    ("fp16 vs fp32", np.float32, np.float16),
    ("fp16 vs fp16", np.float16, np.float16),
    ("int32 vs int32", np.int32, np.int32),
)
"""(label, reference dtype, output dtype)."""


def _arrays(
    mb: float, ref_dtype: Any, act_dtype: Any, rng: np.random.Generator
) -> tuple[Array, Array]:
    # A feature map, (rows, 256): a 1-D vector under 262144 elements would be judged as class
    # scores (top-1/top-k), another workload (see --scores).
    n = int(mb * 1e6 / np.dtype(act_dtype).itemsize) // 256 * 256
    base = rng.standard_normal(n, dtype=np.float32).reshape(-1, 256)
    noisy = base + rng.standard_normal(base.shape, dtype=np.float32) * np.float32(1e-3)
    if np.dtype(act_dtype).kind == "i":
        return (base * 1000).astype(ref_dtype), (noisy * 1000).astype(act_dtype)
    return base.astype(ref_dtype), noisy.astype(act_dtype)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _extra_memory(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(mb: float, repeat: int, rng: np.random.Generator) -> None:
    for label, ref_dtype, act_dtype in PAIRS:
        reference, actual = _arrays(mb, ref_dtype, act_dtype, rng)
        gb = (reference.nbytes + actual.nbytes) / 1e9

        def baseline(r: Array = reference, a: Array = actual) -> object:
            return np.abs(a - r).max()

        def ours(r: Array = reference, a: Array = actual) -> object:
            return compare({"y": r}, {"y": a}, "default")

        baseline()
        ours()  # warm-up: first-touch page faults, imports, policy parsing
        base_times: list[float] = []
        our_times: list[float] = []
        for _ in range(repeat):
            base_times.append(_timed(baseline))
            our_times.append(_timed(ours))
        base = statistics.median(base_times)
        mine = statistics.median(our_times)
        ratios = sorted(o / b for o, b in zip(our_times, base_times, strict=True))
        extra = _extra_memory(ours) / actual.nbytes
        print(
            f"{mb:6.0f} MB  {label:15s} numpy {gb / base:6.2f} GB/s  compare() {gb / mine:6.2f} "
            f"GB/s  ratio {mine / base:5.2f}x (per-repeat {ratios[0]:.2f}-{ratios[-1]:.2f}x)  "
            f"extra memory {extra:.1%} of the output"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, nargs="+", default=[1.0, 10.0, 100.0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for mb in args.mb:
        measure(mb, args.repeat, rng)


if __name__ == "__main__":
    main()
