"""Detail for reports: a streamed histogram of absolute errors and the worst elements."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pomar_core.arrays import Array

LOG10_EDGES = np.arange(-12.0, 6.5, 0.5)
"""Bins of log10|error| from 1e-12 to 1e6; exact zeros and non-finite are counted apart."""


@dataclass(frozen=True)
class ErrorHistogram:
    edges: Array
    counts: Array
    zeros: int
    nonfinite: int


@dataclass(frozen=True)
class WorstElement:
    index: tuple[int, ...]
    reference: float
    actual: float
    abs_error: float


def error_histogram(reference: Array, actual: Array, step: int = 1 << 16) -> ErrorHistogram:
    """Counts of log10|actual - reference| per bin, chunk by chunk (bounded memory)."""
    ref = np.asarray(reference).reshape(-1)
    act = np.asarray(actual).reshape(-1)
    counts = np.zeros(LOG10_EDGES.size - 1, np.int64)
    zeros = nonfinite = 0
    with np.errstate(all="ignore"):
        for start in range(0, ref.size, step):
            err = np.abs(act[start : start + step].astype(np.float64) - ref[start : start + step])
            finite = np.isfinite(err)
            nonfinite += int(err.size - np.count_nonzero(finite))
            err = err[finite]
            zero = err == 0
            zeros += int(np.count_nonzero(zero))
            logs = np.clip(np.log10(err[~zero]), LOG10_EDGES[0], LOG10_EDGES[-1] - 1e-9)
            counts += np.histogram(logs, bins=LOG10_EDGES)[0]
    return ErrorHistogram(LOG10_EDGES, counts, zeros, nonfinite)


def worst_elements(
    reference: Array, actual: Array, n: int = 10, step: int = 1 << 16
) -> list[WorstElement]:
    """The ``n`` largest absolute errors (non-finite mismatches first), largest first."""
    ref = np.asarray(reference)
    shape = ref.shape
    flat_ref = ref.reshape(-1)
    flat_act = np.asarray(actual).reshape(-1)
    best_idx = np.empty(0, np.int64)
    best_err = np.empty(0, np.float64)
    with np.errstate(all="ignore"):
        for start in range(0, flat_ref.size, step):
            r = flat_ref[start : start + step].astype(np.float64)
            a = flat_act[start : start + step].astype(np.float64)
            err = np.abs(a - r)
            same = (np.isnan(r) & np.isnan(a)) | (r == a)
            err[same] = 0.0
            err[np.isnan(err)] = np.inf  # a NaN against a number is as bad as it gets
            k = min(n, err.size)
            top = np.argpartition(-err, k - 1)[:k]
            best_idx = np.concatenate([best_idx, top + start])
            best_err = np.concatenate([best_err, err[top]])
            keep = np.argsort(-best_err, kind="stable")[:n]
            best_idx, best_err = best_idx[keep], best_err[keep]
    return [
        WorstElement(
            index=tuple(int(i) for i in np.unravel_index(int(i), shape)) if shape else (),
            reference=float(flat_ref[i]),
            actual=float(flat_act[i]),
            abs_error=float(e),
        )
        for i, e in zip(best_idx, best_err, strict=True)
        if e > 0
    ]
