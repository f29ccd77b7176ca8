"""Throughput of parity.compare() against a plain numpy pass over the same arrays.

The baseline, ``np.abs(actual - reference).max()``, is about the least work a comparison can do
(it reads both arrays once and writes two temporaries): close to the memory bandwidth. compare()
computes every metric of the report in a streaming pass. Both are timed here, in the same run, on
the same arrays; the ratio is what to watch (issue 4 aims for at most 3x).

    python benchmarks/bench_parity.py [--mb 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from orchestrator.parity import compare


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=100.0, help="size of each output in MB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float16):
        n = int(args.mb * 1e6 / np.dtype(np.float32).itemsize)
        reference = rng.standard_normal(n, dtype=np.float32)
        actual = (reference + rng.standard_normal(n, dtype=np.float32) * 1e-3).astype(dtype)
        gb = (reference.nbytes + actual.nbytes) / 1e9
        baseline = _best(lambda: np.abs(actual - reference).max(), args.repeat)  # noqa: B023
        ours = _best(
            lambda: compare({"y": reference}, {"y": actual}, "default"),  # noqa: B023
            args.repeat,
        )
        print(
            f"{np.dtype(dtype).name:8s} output vs fp32 reference, {gb:.2f} GB read: "
            f"numpy {gb / baseline:6.2f} GB/s, compare() {gb / ours:6.2f} GB/s, "
            f"ratio {ours / baseline:.2f}x"
        )


if __name__ == "__main__":
    main()
