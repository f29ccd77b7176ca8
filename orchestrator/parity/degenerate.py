"""Comparisons that cannot detect an error: a flat reference, or a run identical to it.

A randomly initialised model often collapses to a constant or all-zero output (a dead ReLU
stack, a saturated softmax): every metric is then perfect whatever the device does, and the
check says nothing. Equally, error metrics that are all exactly zero usually mean the output does
not depend on the computation being checked. Such outputs still get their verdict, plus a
warning on the result that every report shows.
"""

from __future__ import annotations

import numpy as np

from pomar_core.arrays import Array
from pomar_core.wire import OutputMetrics

ADVICE = "this check cannot detect an error: use a trained model or real inputs"

MIN_DYNAMIC_RANGE = 1e-6
"""A reference whose spread (max - min) is below this share of its magnitude counts as flat."""


def degenerate_reason(reference: Array, metrics: OutputMetrics | None = None) -> str | None:
    """Why comparing against ``reference`` (with ``metrics``) proves nothing, or ``None``."""
    values = np.asarray(reference)
    if values.dtype.kind not in "fiub" or values.size == 0:
        return None
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return None
    data = finite.astype(np.float64, copy=False)
    low, high = float(data.min()), float(data.max())
    if values.size > 1 and high == low == 0.0:
        return f"the reference is all zeros; {ADVICE}"
    if values.size > 1 and high == low:
        return f"the reference is constant ({low:g}); {ADVICE}"
    scale = max(abs(low), abs(high))
    if values.dtype.kind == "f" and values.size > 1 and (high - low) < MIN_DYNAMIC_RANGE * scale:
        return f"the reference has almost no dynamic range ({low:g} to {high:g}); {ADVICE}"
    if metrics is not None and _all_zero_error(metrics) and values.dtype.kind == "f":
        return f"every error metric is exactly zero; {ADVICE}"
    return None


def _all_zero_error(metrics: OutputMetrics) -> bool:
    errors = (metrics.max_abs_error, metrics.mean_abs_error, metrics.relative_l2)
    return all(e is not None for e in errors) and all(e == 0.0 for e in errors)
