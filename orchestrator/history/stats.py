"""Is a run slower than its baseline? A noise-aware rule on the latency samples.

The rule, for a baseline's samples ``B`` and a current run's samples ``C``:

1. **Size**: the estimated ratio reaches the smallest bucket (×1.1). The estimate is the
   Hodges-Lehmann one: the median of every pairwise ratio ``c / b``. Medians, not means: one
   sample delayed by a context switch or a thermal hiccup moves a mean and not a median; and the
   pairwise median uses every sample, so two draws of the same noise disagree less than their
   plain medians do.
2. **Significance**: a one-sided Mann-Whitney U test says ``C`` is stochastically larger than
   ``B`` at ``alpha`` (0.1%: a nightly compares dozens of runs, and a 1% test would page someone
   for noise every few nights). It uses every sample and assumes no distribution (latencies are
   skewed, with a long right tail, so a t-test's normality is a poor fit), and it is insensitive
   to outliers because it looks only at ranks. It is what makes the rule noise-aware: two draws
   from the same noisy distribution differ in their medians by chance, often by more than 10% on
   a busy device, but their ranks interleave and the test does not fire.
3. **Interference**: before both, each side drops its samples above a Hampel fence,
   ``median + 3 · 1.4826 · MAD`` (at least 5% above the median, for quantised timers): a
   prediction delayed by another process or a thermal step measures the device, not the model,
   and a few of them, unevenly spread over two runs, would otherwise swing the ranks. The MAD,
   unlike the IQR, still sees the body of the distribution when 30% of samples are delayed. The
   fast side is kept: nothing makes a model run faster than it can.
4. **Samples**: both sides need at least :data:`MIN_SAMPLES` samples. With fewer, even a
   complete separation of the two samples is not significant at 0.1% (eight against eight is
   the smallest that can be; a job's default is ten iterations), and one sample is never
   evidence: the change is ``insufficient``.

Neither check alone is enough: with thousands of samples, U finds a 1% shift significant (real,
but nobody should be paged for it), and without U, noise crosses ×1.1 routinely. The bucket is
the largest of ×1.1, ×1.2, ×1.5, ×2 that the estimated ratio reaches (a point estimate: a true
×1.5 lands in ×1.2 about half the time). Improvements are found the same way in the other
direction and reported, never failed.

The p-value comes from the normal approximation of U with the tie correction and a continuity
correction, which is close to the exact distribution from about eight samples a side.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

BUCKETS = (1.1, 1.2, 1.5, 2.0)
"""Regression sizes reported, as ratios of medians."""

MIN_SAMPLES = 8
ALPHA = 0.001


class Trend(StrEnum):
    REGRESSED = "regressed"
    IMPROVED = "improved"
    UNCHANGED = "unchanged"
    INSUFFICIENT = "insufficient"
    """Too few samples on a side to tell a change from noise."""


@dataclass(frozen=True)
class Shift:
    """How the current samples compare with the baseline's."""

    trend: Trend
    ratio: float
    """How many times slower the current run is: :func:`hodges_lehmann_ratio`."""
    bucket: float | None
    """The largest of :data:`BUCKETS` the ratio (or its inverse, for an improvement) reaches."""
    p_value: float | None
    """One-sided, in the direction of the change; None with too few samples."""


def median(samples: Sequence[float]) -> float:
    data = sorted(float(x) for x in samples)
    n = len(data)
    mid = n // 2
    return data[mid] if n % 2 else (data[mid - 1] + data[mid]) / 2


def steady(samples: Sequence[float]) -> list[float]:
    """The samples without those above the Hampel fence, unless that leaves under half."""
    data = sorted(float(x) for x in samples)
    centre = median(data)
    mad = median([abs(x - centre) for x in data])
    fence = centre + max(3 * 1.4826 * mad, 0.05 * centre)
    kept = [x for x in data if x <= fence]
    return kept if 2 * len(kept) >= len(data) else data


def hodges_lehmann_ratio(baseline: Sequence[float], current: Sequence[float]) -> float:
    """The median of every pairwise ratio ``current[i] / baseline[j]``.

    The shift estimate that goes with the Mann-Whitney test: it uses every sample, so it moves
    less between two draws than a ratio of medians, and a single outlier barely moves it. Above
    :data:`_PAIR_LIMIT` pairs each side is thinned to evenly spaced order statistics.
    """
    b = _thin(np.log(np.asarray([x for x in baseline if x > 0], np.float64)))
    c = _thin(np.log(np.asarray([x for x in current if x > 0], np.float64)))
    if not b.size or not c.size:
        return 1.0
    return float(np.exp(np.median(np.subtract.outer(c, b))))


_PAIR_LIMIT = 1000


def _thin(logs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if logs.size <= _PAIR_LIMIT:
        return logs
    ordered = np.sort(logs)
    return ordered[np.linspace(0, ordered.size - 1, _PAIR_LIMIT).round().astype(np.int64)]


def bucket_of(ratio: float) -> float | None:
    """The largest bucket ``ratio`` reaches, e.g. 1.37 → 1.2; None below ×1.1."""
    reached = [b for b in BUCKETS if ratio >= b]
    return reached[-1] if reached else None


def mann_whitney_greater(larger: Sequence[float], smaller: Sequence[float]) -> float:
    """One-sided p-value that ``larger`` is stochastically greater than ``smaller``."""
    n1, n2 = len(larger), len(smaller)
    pooled = sorted([(x, 0) for x in larger] + [(x, 1) for x in smaller])
    ranks = [0.0] * len(pooled)
    tie_term = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        average = (i + j) / 2 + 1  # ranks are 1-based; ties share their mean rank
        for k in range(i, j + 1):
            ranks[k] = average
        tied = j - i + 1
        tie_term += tied**3 - tied
        i = j + 1
    rank_sum = sum(r for r, (_, side) in zip(ranks, pooled, strict=True) if side == 0)
    u = rank_sum - n1 * (n1 + 1) / 2
    mean = n1 * n2 / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return 1.0  # every sample equal: no evidence either way
    z = (u - mean - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def latency_shift(
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    alpha: float = ALPHA,
    min_samples: int = MIN_SAMPLES,
) -> Shift:
    """Apply the rule of this module to two runs' latency samples (milliseconds)."""
    if not baseline or not current:
        raise ValueError("both runs need latency samples")
    ratio = hodges_lehmann_ratio(baseline, current)
    if len(baseline) < min_samples or len(current) < min_samples:
        return Shift(Trend.INSUFFICIENT, ratio, None, None)
    baseline, current = steady(baseline), steady(current)
    ratio = hodges_lehmann_ratio(baseline, current)
    if ratio >= 1:
        p = mann_whitney_greater(current, baseline)
        bucket = bucket_of(ratio)
        trend = Trend.REGRESSED if bucket is not None and p < alpha else Trend.UNCHANGED
    else:
        p = mann_whitney_greater(baseline, current)
        bucket = bucket_of(1 / ratio) if ratio > 0 else BUCKETS[-1]
        trend = Trend.IMPROVED if bucket is not None and p < alpha else Trend.UNCHANGED
    return Shift(trend, ratio, bucket if trend is not Trend.UNCHANGED else None, p)
