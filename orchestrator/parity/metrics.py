"""Error metrics of one output tensor against its reference, computed in one streaming pass.

Arrays are walked in chunks of ``chunk_elements`` (memory-mapped ``.npy`` files work), so a
100 MB output costs a few chunk-sized temporaries, never several full copies. fp32 and fp16
outputs against an fp32 or fp16 reference are computed in float32 (see :class:`_Accumulator`);
integer and boolean outputs against an integer reference in exact integers (see
:mod:`orchestrator.parity.integer`); anything else is widened to float64 per chunk. Sums are always
accumulated in float64, and no metric calls BLAS (see :meth:`_Scratch.sum_squares`).

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

from orchestrator.parity.chunk import Chunk
from orchestrator.parity.integer import IntegerScratch, is_integer, measure_integer_chunk
from orchestrator.parity.ulp import UlpScratch, ulp_distance_max
from pomar_core.arrays import Array
from pomar_core.wire import OutputMetrics

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
        acc = _Accumulator(peak, params, ref.dtype, act.dtype, ref_flat.size)
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


_FAST_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))
_FAST_PEAK = (1e-10, 1e18)
"""References whose peak lies here keep squares and relative errors inside float32's normal range
(a square of 1e18 is 1e36 < 3.4e38; an error below 1e-19 beside a peak of 1e-10 adds nothing)."""


class _Scratch:
    """Chunk-sized buffers reused across chunks: no allocation (and no page faults) per chunk."""

    def __init__(self, size: int, dtype: np.dtype[Any]) -> None:
        self.dtype = dtype
        self.ref = np.empty(size, dtype)
        self.act = np.empty(size, dtype)
        self.diff = np.empty(size, dtype)
        self.tmp = np.empty(size, dtype)
        self.flag = np.empty(size, np.bool_)
        self.ulp = UlpScratch(size)

    def load(self, chunk: Array, buffer: Array) -> Array:
        """The chunk in the work dtype: a view when it already is, else a copy into ``buffer``."""
        if chunk.dtype == self.dtype:
            return chunk
        out = buffer[: chunk.size]
        np.copyto(out, chunk, casting="unsafe")
        return out

    def sum_squares(self, x: Array) -> float:
        """``sum(x*x)`` accumulated in float64, without BLAS.

        ``np.dot`` would be faster on paper, but OpenBLAS threads a dot of a chunk this size, and
        waking its threads per chunk cost 15-40x the arithmetic on a busy two-core machine.
        """
        if x.dtype == np.float64:
            return float(np.einsum("i,i->", x, x))
        squares = np.multiply(x, x, out=self.tmp[: x.size])
        return float(squares.sum(dtype=np.float64))


class _Accumulator:
    """Running sums and extremes over chunks.

    Chunks are computed in float32 when both sides are fp32 or fp16 and the reference's peak is
    in :data:`_FAST_PEAK`: the differences, absolute values and comparisons then move half the
    bytes of float64. Every sum is still accumulated in float64. A chunk whose float32
    arithmetic overflows (a huge output value) is redone in float64, so the fast path never
    changes a verdict; it may move an element lying within one float32 rounding of the
    tolerance line across it.
    """

    def __init__(
        self,
        peak: float,
        params: MetricParams,
        reference_dtype: np.dtype[Any],
        actual_dtype: np.dtype[Any],
        elements: int,
    ) -> None:
        # A small output needs no chunk-sized scratch.
        self.size = max(1, min(params.chunk_elements, elements))
        self.peak = peak
        self.params = params
        self.actual_dtype = actual_dtype
        self.floor = params.relative_floor * peak if peak > 0 else params.relative_floor
        self.tol_const = params.atol + params.peak_atol * peak
        fast = (
            reference_dtype in _FAST_DTYPES
            and actual_dtype in _FAST_DTYPES
            and _FAST_PEAK[0] <= peak <= _FAST_PEAK[1]
            and self.floor >= 1e-30
            and self.tol_const <= 1e30
        )
        self.fast = _Scratch(self.size, np.dtype(np.float32)) if fast else None
        integer = is_integer(reference_dtype) and is_integer(actual_dtype)
        self.integer = IntegerScratch(self.size) if integer else None
        self._wide: _Scratch | None = None
        self.n = 0
        self.total = Chunk()
        self.worst_flat = -1

    @property
    def wide(self) -> _Scratch:
        if self._wide is None:
            self._wide = _Scratch(self.size, np.dtype(np.float64))
        return self._wide

    def add(self, ref_chunk: Array, act_chunk: Array, offset: int) -> None:
        self.n += ref_chunk.size
        chunk = None
        if self.fast is not None:
            chunk = self._measure(self.fast, ref_chunk, act_chunk, offset)
        elif self.integer is not None:
            chunk = measure_integer_chunk(
                Chunk(),
                self.integer,
                ref_chunk,
                act_chunk,
                offset,
                floor=self.floor,
                tol_const=self.tol_const,
                rtol=self.params.rtol,
            )
        if chunk is None:
            chunk = self._measure(self.wide, ref_chunk, act_chunk, offset)
            assert chunk is not None  # float64 sums of float32/int values cannot overflow
        self._commit(chunk)

    def _measure(
        self, buf: _Scratch, ref_chunk: Array, act_chunk: Array, offset: int
    ) -> Chunk | None:
        """The chunk's statistics, or None when float32 arithmetic overflowed."""
        c = Chunk()
        m = ref_chunk.size
        r = buf.load(ref_chunk, buf.ref)
        a = buf.load(act_chunk, buf.act)
        t = np.subtract(a, r, out=buf.diff[:m])
        np.abs(t, out=t)
        total = float(t.sum(dtype=np.float64))
        positions: Array | None = None
        if not math.isfinite(total):
            # Slow path only for chunks that hold a NaN or an Inf on either side.
            r, a, t, positions = _split_nonfinite(c, r, a, t, offset)
            ref_chunk = ref_chunk[positions - offset]
            act_chunk = act_chunk[positions - offset]
            total = float(t.sum(dtype=np.float64))
            if not r.size:
                return c
            if not math.isfinite(total):
                return None  # finite inputs whose float32 difference overflowed
        c.pairs = r.size
        c.sum_abs = total
        c.sum_d2 = buf.sum_squares(t)
        c.sum_r2 = buf.sum_squares(r)
        c.sum_a2 = buf.sum_squares(a)
        if not math.isfinite(c.sum_d2 + c.sum_r2 + c.sum_a2):
            return None
        i = int(np.argmax(t))
        c.max_abs = float(t[i])
        c.worst = offset + i if positions is None else int(positions[i])
        c.max_ulp = ulp_distance_max(ref_chunk, act_chunk, self.actual_dtype, buf.ulp)
        abs_r = np.abs(r, out=buf.ref[: r.size])  # r may be the caller's array: never write it
        work = buf.act[: r.size]  # a is not needed any more
        np.maximum(abs_r, self.floor, out=work)
        np.divide(t, work, out=work)
        c.max_rel = float(work.max())
        if c.max_abs > self.tol_const:
            # Every element is inside the tolerance when the largest error is under its
            # constant part, which is the usual passing run: skip the element-wise test.
            tol = np.multiply(abs_r, self.params.rtol, out=work)
            tol += self.tol_const
            outside = np.greater(t, tol, out=buf.flag[: r.size])
            c.outside = int(np.count_nonzero(outside))
        return c

    def _commit(self, c: Chunk) -> None:
        s = self.total
        for name in ("pairs", "sum_abs", "sum_d2", "sum_r2", "sum_a2", "outside", "new_nonfinite"):
            setattr(s, name, getattr(s, name) + getattr(c, name))
        for name in ("ref_nan", "ref_inf", "act_nan", "act_inf", "mismatch"):
            setattr(s, name, getattr(s, name) + getattr(c, name))
        if c.pairs and c.max_abs > s.max_abs:
            s.max_abs, s.worst = c.max_abs, c.worst
        s.max_rel = max(s.max_rel, c.max_rel)
        s.max_ulp = max(s.max_ulp, c.max_ulp)
        if s.first_mismatch < 0:
            s.first_mismatch = c.first_mismatch
        s.infinite_error = s.infinite_error or c.infinite_error

    def result(
        self, shape: tuple[int, ...], top1: float | None, topk: float | None, scores: bool
    ) -> TensorComparison:
        s = self.total
        has_pairs = s.pairs > 0
        max_abs: float | None = s.max_abs if has_pairs else None
        if s.infinite_error:
            max_abs = math.inf
        elif max_abs is None and self.n == s.ref_nan + s.ref_inf and not s.mismatch:
            max_abs = 0.0  # both sides hold the same non-finite values everywhere
        worst = s.worst
        if s.mismatch and (s.infinite_error or not has_pairs):
            worst = s.first_mismatch
        self.worst_flat = worst
        metrics = OutputMetrics(
            max_abs_error=max_abs,
            mean_abs_error=s.sum_abs / s.pairs if has_pairs else None,
            relative_l2=_ratio(math.sqrt(s.sum_d2), math.sqrt(s.sum_r2)) if has_pairs else None,
            max_relative_error=s.max_rel if has_pairs else None,
            cosine_similarity=_cosine(s.sum_r2, s.sum_a2, s.sum_d2) if has_pairs else None,
            snr_db=_db(s.sum_r2, s.sum_d2) if has_pairs else None,
            psnr_db=_db(self.peak**2 * s.pairs, s.sum_d2) if has_pairs else None,
            max_ulp=s.max_ulp if has_pairs else None,
            share_outside_tolerance=(s.outside + s.mismatch) / self.n if self.n else 0.0,
            top1_agreement=top1,
            topk_overlap=topk,
            reference_nan=s.ref_nan,
            reference_inf=s.ref_inf,
            actual_nan=s.act_nan,
            actual_inf=s.act_inf,
        )
        return TensorComparison(
            metrics=metrics,
            elements=self.n,
            nonfinite_mismatch=s.mismatch,
            new_nonfinite=s.new_nonfinite,
            worst_index=_unravel(worst, shape) if worst >= 0 else None,
            worst_reference=None,
            worst_actual=None,
            scores=scores,
        )


def _split_nonfinite(
    c: Chunk, r: Array, a: Array, ad: Array, offset: int
) -> tuple[Array, Array, Array, Array]:
    """Count NaN/Inf on each side into ``c``; keep the positions finite on both sides."""
    r_nan, a_nan = np.isnan(r), np.isnan(a)
    r_inf, a_inf = np.isinf(r), np.isinf(a)
    c.ref_nan = int(r_nan.sum())
    c.ref_inf = int(r_inf.sum())
    c.act_nan = int(a_nan.sum())
    c.act_inf = int(a_inf.sum())
    r_fin = ~(r_nan | r_inf)
    a_fin = ~(a_nan | a_inf)
    both = r_fin & a_fin
    same = (r_nan & a_nan) | (r_inf & a_inf & (r == a))
    mismatch = ~both & ~same
    c.mismatch = int(mismatch.sum())
    if c.mismatch:
        c.first_mismatch = offset + int(np.argmax(mismatch))
        # An Inf against a finite value is an infinitely large error; NaN has no size.
        c.infinite_error = bool(np.any((r_inf & a_fin) | (a_inf & r_fin)))
    c.new_nonfinite = int(np.count_nonzero(r_fin & ~a_fin))
    positions = np.flatnonzero(both) + offset
    return r[both], a[both], ad[both], positions


def _cosine(sum_r2: float, sum_a2: float, sum_d2: float) -> float:
    """Cosine from the three sums of squares: ``r·a = (|r|² + |a|² - |a-r|²) / 2``.

    Saves a fourth pass, and near 1 (the usual case) it is the better-conditioned form: it is
    first-order insensitive to rounding in ``|r|²`` and ``|a|²`` when they are close.
    """
    if sum_r2 == 0 and sum_a2 == 0:
        return 1.0  # two zero vectors point the same (no) way
    if sum_r2 == 0 or sum_a2 == 0:
        return 0.0
    dot = (sum_r2 + sum_a2 - sum_d2) / 2
    return max(-1.0, min(1.0, dot / math.sqrt(sum_r2 * sum_a2)))


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
