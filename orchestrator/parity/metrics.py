"""Error metrics of one output tensor against its reference, computed in one streaming pass.

Arrays are walked in chunks of ``chunk_elements`` (memory-mapped ``.npy`` files work), so a
100 MB output costs a few chunk-sized temporaries, never several full copies. Each chunk is
widened to float64, which makes int32 outputs exact and keeps sums of fp32 values from
overflowing.

Non-finite values: NaN and Inf are counted on each side. Positions where both sides hold the same
non-finite value (NaN and NaN, or the same infinity) agree; positions where the pattern differs
are *non-finite mismatches*: they count as outside the tolerance, and an Inf against a finite
value makes ``max_abs_error`` infinite. Every other metric is over the positions where both sides
are finite, so one overflow does not turn the whole report into NaN.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from orchestrator.parity.ulp import UlpScratch, ulp_distance_max
from orchestrator.wire import OutputMetrics

Array = npt.NDArray[Any]

DEFAULT_CHUNK_ELEMENTS = 1 << 16
"""Small enough that a chunk's float64 temporaries stay in the CPU cache."""

_MAX_CLASSES = 1 << 18
"""Above this a last axis is a signal, not a vocabulary (LLM vocabularies reach ~256k)."""

_SCORE_NAME = re.compile(r"logit|prob|score|class|label|softmax", re.IGNORECASE)


@dataclass(frozen=True)
class MetricParams:
    """Parameters that shape the metrics themselves (thresholds live in the policy).

    Parameters:
        atol: absolute part of the element-wise tolerance.
        rtol: relative part, times ``|reference|``.
        peak_atol: absolute part as a fraction of the reference's peak ``max|ref|``; scale-free,
            which suits FP16 where an element's error follows the size of the intermediates.
        relative_floor: denominator floor of ``max_relative_error``, as a fraction of the peak
            (an absolute floor when the reference is all zero), so near-zero elements do not
            explode it.
        top_k: k of ``topk_overlap``.
        scores: treat the output as class scores (top-1/top-k); None detects it from the name
            and shape.
    """

    atol: float = 0.0
    rtol: float = 0.0
    peak_atol: float = 0.0
    relative_floor: float = 1e-3
    top_k: int = 5
    scores: bool | None = None
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS


@dataclass(frozen=True)
class TensorComparison:
    """Metrics of one tensor pair, and the facts a verdict or a triage needs beyond them."""

    metrics: OutputMetrics
    elements: int
    nonfinite_mismatch: int
    """Positions whose NaN/Inf pattern differs between the sides."""
    new_nonfinite: int
    """Positions non-finite in ``actual`` where the reference is finite (overflow)."""
    worst_index: tuple[int, ...] | None
    worst_reference: float | None
    worst_actual: float | None
    scores: bool


def looks_like_scores(name: str, shape: tuple[int, ...], dtype: np.dtype[Any]) -> bool:
    """Class scores: a float output named like logits/probabilities, or a single score vector."""
    if dtype.kind != "f" or not shape or not 2 <= shape[-1] <= _MAX_CLASSES:
        return False
    if _SCORE_NAME.search(name):
        return True
    return sum(1 for d in shape if d != 1) == 1


def compare_tensors(
    reference: Array, actual: Array, params: MetricParams = MetricParams(), *, name: str = ""
) -> TensorComparison:
    """Every metric of ``actual`` against ``reference``; both must have the same element count.

    The caller checks shapes; element order is the reference's (C order).
    """
    ref = np.asarray(reference)
    act = np.asarray(actual)
    if ref.size != act.size:
        raise ValueError(f"size {act.size} differs from the reference's {ref.size}")
    shape = ref.shape
    ref_flat = _flat(ref)
    act_flat = _flat(act)
    step = max(1, params.chunk_elements)
    with np.errstate(all="ignore"):
        peak = _peak(ref_flat, step)
        acc = _Accumulator(peak, params, act.dtype)
        for start in range(0, ref_flat.size, step):
            acc.add(ref_flat[start : start + step], act_flat[start : start + step], start)
        scores = (
            params.scores
            if params.scores is not None
            else looks_like_scores(name, shape, act.dtype)
        )
        top1 = topk = None
        if scores and len(shape) >= 1 and shape[-1] >= 2:
            top1, topk = _top_agreement(ref_flat, act_flat, shape[-1], params.top_k, step)
    comparison = acc.result(shape, top1, topk, scores)
    if acc.worst_flat >= 0:
        comparison = replace(
            comparison,
            worst_reference=float(ref_flat[acc.worst_flat]),
            worst_actual=float(act_flat[acc.worst_flat]),
        )
    return comparison


def _flat(a: Array) -> Array:
    # A view for C-contiguous arrays and memmaps; only an unusual strided array is copied.
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    return a.reshape(-1)


def _peak(ref: Array, step: int) -> float:
    """``max|ref|`` over the finite values; a separate pass that reads only the reference."""
    peak = 0.0
    for start in range(0, ref.size, step):
        chunk = ref[start : start + step]
        if not chunk.size:
            continue
        high, low = float(chunk.max()), float(chunk.min())
        if math.isfinite(high) and math.isfinite(low):
            peak = max(peak, abs(high), abs(low))
        else:
            wide = np.abs(chunk.astype(np.float64))
            peak = max(peak, float(np.max(wide, where=np.isfinite(wide), initial=0.0)))
    return peak


class _Scratch:
    """Chunk-sized buffers reused across chunks: no allocation (and no page faults) per chunk."""

    def __init__(self, size: int) -> None:
        self.ref = np.empty(size, np.float64)
        self.act = np.empty(size, np.float64)
        self.diff = np.empty(size, np.float64)
        self.tmp = np.empty(size, np.float64)
        self.flag = np.empty(size, np.bool_)
        self.ulp = UlpScratch(size)


class _Accumulator:
    """Running sums and extremes over chunks."""

    def __init__(self, peak: float, params: MetricParams, actual_dtype: np.dtype[Any]) -> None:
        self.scratch = _Scratch(max(1, params.chunk_elements))
        self.peak = peak
        self.params = params
        self.actual_dtype = actual_dtype
        self.floor = params.relative_floor * peak if peak > 0 else params.relative_floor
        self.tol_const = params.atol + params.peak_atol * peak
        self.n = 0
        self.finite_pairs = 0
        self.sum_abs = 0.0
        self.sum_d2 = 0.0
        self.sum_r2 = 0.0
        self.sum_a2 = 0.0
        self.sum_ra = 0.0
        self.max_abs = -1.0
        self.worst = -1
        self.max_rel = 0.0
        self.max_ulp = 0.0
        self.outside = 0
        self.ref_nan = self.ref_inf = self.act_nan = self.act_inf = 0
        self.mismatch = 0
        self.new_nonfinite = 0
        self.infinite_error = False
        self.first_mismatch = -1
        self.worst_flat = -1

    def add(self, ref_chunk: Array, act_chunk: Array, offset: int) -> None:
        m = ref_chunk.size
        self.n += m
        buf = self.scratch
        r, a, d, t = buf.ref[:m], buf.act[:m], buf.diff[:m], buf.tmp[:m]
        np.copyto(r, ref_chunk, casting="unsafe")
        np.copyto(a, act_chunk, casting="unsafe")
        np.subtract(a, r, out=d)
        np.abs(d, out=t)
        total = float(t.sum())
        positions: Array | None = None
        if not math.isfinite(total):
            # Slow path only for chunks that hold a NaN or an Inf on either side.
            r, a, d, t, positions = self._split_nonfinite(r, a, t, offset)
            ref_chunk = ref_chunk[positions - offset]
            act_chunk = act_chunk[positions - offset]
            total = float(t.sum())
            if not r.size:
                return
        self.finite_pairs += r.size
        self.sum_abs += total
        self.sum_d2 += float(np.dot(d, d))
        self.sum_r2 += float(np.dot(r, r))
        self.sum_a2 += float(np.dot(a, a))
        self.sum_ra += float(np.dot(r, a))
        i = int(np.argmax(t))
        if t[i] > self.max_abs:
            self.max_abs = float(t[i])
            self.worst = offset + i if positions is None else int(positions[i])
        self.max_ulp = max(
            self.max_ulp,
            ulp_distance_max(ref_chunk, act_chunk, self.actual_dtype, buf.ulp),
        )
        # r, a and d are free from here on: reuse them as scratch.
        abs_r = np.abs(r, out=r)
        np.maximum(abs_r, self.floor, out=d)
        np.divide(t, d, out=d)
        self.max_rel = max(self.max_rel, float(d.max()))
        tol = np.multiply(abs_r, self.params.rtol, out=a)
        tol += self.tol_const
        outside = buf.flag[: r.size]
        np.greater(t, tol, out=outside)
        self.outside += int(np.count_nonzero(outside))

    def _split_nonfinite(
        self, r: Array, a: Array, ad: Array, offset: int
    ) -> tuple[Array, Array, Array, Array, Array]:
        r_nan, a_nan = np.isnan(r), np.isnan(a)
        r_inf, a_inf = np.isinf(r), np.isinf(a)
        self.ref_nan += int(r_nan.sum())
        self.ref_inf += int(r_inf.sum())
        self.act_nan += int(a_nan.sum())
        self.act_inf += int(a_inf.sum())
        r_fin = ~(r_nan | r_inf)
        a_fin = ~(a_nan | a_inf)
        both = r_fin & a_fin
        same = (r_nan & a_nan) | (r_inf & a_inf & (r == a))
        mismatch = ~both & ~same
        count = int(mismatch.sum())
        if count:
            self.mismatch += count
            if self.first_mismatch < 0:
                self.first_mismatch = offset + int(np.argmax(mismatch))
            # An Inf against a finite value is an infinitely large error; NaN has no size.
            if bool(np.any((r_inf & a_fin) | (a_inf & r_fin))):
                self.infinite_error = True
        self.new_nonfinite += int(np.count_nonzero(r_fin & ~a_fin))
        positions = np.flatnonzero(both) + offset
        r, a = r[both], a[both]
        return r, a, a - r, ad[both], positions

    def result(
        self, shape: tuple[int, ...], top1: float | None, topk: float | None, scores: bool
    ) -> TensorComparison:
        has_pairs = self.finite_pairs > 0
        max_abs: float | None = self.max_abs if has_pairs else None
        if self.infinite_error:
            max_abs = math.inf
        elif max_abs is None and self.n == self.ref_nan + self.ref_inf and not self.mismatch:
            max_abs = 0.0  # both sides hold the same non-finite values everywhere
        worst = self.worst
        if self.mismatch and (self.infinite_error or not has_pairs):
            worst = self.first_mismatch
        self.worst_flat = worst
        metrics = OutputMetrics(
            max_abs_error=max_abs,
            mean_abs_error=self.sum_abs / self.finite_pairs if has_pairs else None,
            relative_l2=_ratio(math.sqrt(self.sum_d2), math.sqrt(self.sum_r2))
            if has_pairs
            else None,
            max_relative_error=self.max_rel if has_pairs else None,
            cosine_similarity=self._cosine() if has_pairs else None,
            snr_db=_db(self.sum_r2, self.sum_d2) if has_pairs else None,
            psnr_db=_db(self.peak**2 * self.finite_pairs, self.sum_d2) if has_pairs else None,
            max_ulp=self.max_ulp if has_pairs else None,
            share_outside_tolerance=(self.outside + self.mismatch) / self.n if self.n else 0.0,
            top1_agreement=top1,
            topk_overlap=topk,
            reference_nan=self.ref_nan,
            reference_inf=self.ref_inf,
            actual_nan=self.act_nan,
            actual_inf=self.act_inf,
        )
        return TensorComparison(
            metrics=metrics,
            elements=self.n,
            nonfinite_mismatch=self.mismatch,
            new_nonfinite=self.new_nonfinite,
            worst_index=_unravel(worst, shape) if worst >= 0 else None,
            worst_reference=None,
            worst_actual=None,
            scores=scores,
        )

    def _cosine(self) -> float:
        if self.sum_r2 == 0 and self.sum_a2 == 0:
            return 1.0  # two zero vectors point the same (no) way
        if self.sum_r2 == 0 or self.sum_a2 == 0:
            return 0.0
        return max(-1.0, min(1.0, self.sum_ra / math.sqrt(self.sum_r2 * self.sum_a2)))


def _ratio(num: float, den: float) -> float:
    if den == 0:
        return 0.0 if num == 0 else math.inf
    return num / den


def _db(signal: float, noise: float) -> float:
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def _unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    if not shape:
        return ()
    return tuple(int(i) for i in np.unravel_index(flat, shape))


def _top_agreement(ref: Array, act: Array, classes: int, k: int, step: int) -> tuple[float, float]:
    """Share of rows (last axis = classes) whose argmax agrees, and mean top-k overlap."""
    rows_ref = ref.reshape(-1, classes)
    rows_act = act.reshape(-1, classes)
    k = max(1, min(k, classes))
    rows_per_chunk = max(1, step // classes)
    agree = 0
    overlap = 0
    total = rows_ref.shape[0]
    for start in range(0, total, rows_per_chunk):
        r = _nan_to_low(rows_ref[start : start + rows_per_chunk])
        a = _nan_to_low(rows_act[start : start + rows_per_chunk])
        agree += int(np.count_nonzero(np.argmax(r, axis=1) == np.argmax(a, axis=1)))
        if k < classes:
            top_r = np.argpartition(-r, k - 1, axis=1)[:, :k]
            top_a = np.argpartition(-a, k - 1, axis=1)[:, :k]
        else:
            top_r = top_a = np.broadcast_to(np.arange(classes), r.shape)
        overlap += int((top_r[:, :, None] == top_a[:, None, :]).sum())
    if total == 0:
        return 1.0, 1.0
    return agree / total, overlap / (total * k)


def _nan_to_low(rows: Array) -> Array:
    # A NaN score never wins: rank it below every real score.
    out = rows.astype(np.float64)
    out[np.isnan(out)] = -np.inf
    return out
