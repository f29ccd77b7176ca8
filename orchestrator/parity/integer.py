"""The integer work path: one chunk of integer (or boolean) outputs measured in exact integers.

Widening an int32 chunk to float64 doubles the bytes every operation moves, and int32 outputs are
exact anyway. Here the differences, absolute values, maxima and sums are computed in int32 and
summed in int64, and only the two metrics that divide (``max_relative_error`` and, for a failing
chunk with an ``rtol``, the tolerance test) touch floats: a float32 pass finds the candidates and
float64 redoes just those, with the very operations of the float64 path.

The values are the float64 path's, to the bit. That holds because every float64 sum of a chunk
is exact when its terms are integers whose total stays under 2**53; :data:`INT_LIMIT` bounds the
magnitudes so it does, and a chunk holding larger values (INT32_MIN/MAX, say) is left to the
float64 path by returning None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from orchestrator.parity.chunk import Chunk
from pomar_core.arrays import Array

MAX_CHUNK = 1 << 16
"""Chunks above this are left to the float64 path (the sums' exactness bound assumes it)."""

INT_LIMIT = 1 << 17
"""Largest ``|value|`` measured here. A difference is then below 2**18, its square below 2**36,
and a chunk's sum of squares below 2**52: exact in float64 whatever the summation order. Values
stay far inside float32's 2**24 exact integers, and differences cannot overflow int32."""

_SQUARE_LIMIT = 46340
"""``46340**2 < 2**31``: squares of values up to this fit int32."""

_FLOAT32_EXACT = 1 << 24
"""Integers below this are exact in float32."""

_RELATIVE_MARGIN = 1e-5
"""float32 ratios are within ~3 float32 roundings (~2e-7) of the exact ones: any element whose
float32 ratio is this close to the chunk's largest may hold the float64 maximum."""


def is_integer(dtype: np.dtype[Any]) -> bool:
    """Integer and boolean dtypes, which this path measures."""
    return dtype.kind in "iub"


class IntegerScratch:
    """Chunk-sized buffers reused across chunks."""

    def __init__(self, size: int) -> None:
        self.ref = np.empty(size, np.int32)
        self.act = np.empty(size, np.int32)
        self.diff = np.empty(size, np.int32)
        self.abs_ref = np.empty(size, np.int32)
        self.square = np.empty(size, np.int32)
        self._wide_square: Array | None = None  # only for values above _SQUARE_LIMIT
        self.f_diff = np.empty(size, np.float32)
        self.f_den = np.empty(size, np.float32)
        self.flag = np.empty(size, np.bool_)

    def load(self, chunk: Array, buffer: Array) -> Array:
        if chunk.dtype == np.int32:
            return chunk
        out = buffer[: chunk.size]
        np.copyto(out, chunk, casting="unsafe")  # in range: the caller checked the bounds
        return out

    def sum_squares(self, x: Array, largest: int) -> float:
        """``sum(x*x)``, exact; ``largest`` bounds ``|x|``."""
        if largest <= _SQUARE_LIMIT:
            squares = np.multiply(x, x, out=self.square[: x.size])
        else:
            if self._wide_square is None:
                self._wide_square = np.empty(self.square.size, np.int64)
            squares = np.multiply(x, x, out=self._wide_square[: x.size], dtype=np.int64)
        return float(int(squares.sum(dtype=np.int64)))


def _magnitude(chunk: Array) -> int:
    return max(abs(int(chunk.max())), abs(int(chunk.min())))


def measure_integer_chunk(
    c: Chunk,
    buf: IntegerScratch,
    ref_chunk: Array,
    act_chunk: Array,
    offset: int,
    *,
    floor: float,
    tol_const: float,
    rtol: float,
) -> Chunk | None:
    """Fill ``c`` with the chunk's statistics, or return None when the float64 path must."""
    m = ref_chunk.size
    if m > MAX_CHUNK or not m or not 1e-30 <= floor <= 1e30 or not 0 <= rtol < math.inf:
        return None
    ref_peak = _magnitude(ref_chunk)
    act_peak = _magnitude(act_chunk)
    if ref_peak > INT_LIMIT or act_peak > INT_LIMIT:
        return None
    r = buf.load(ref_chunk, buf.ref)
    a = buf.load(act_chunk, buf.act)
    t = np.subtract(a, r, out=buf.diff[:m])
    np.abs(t, out=t)
    i = int(np.argmax(t))
    largest = int(t[i])
    c.pairs = m
    c.sum_r2 = buf.sum_squares(r, ref_peak)
    c.sum_a2 = buf.sum_squares(a, act_peak)
    c.max_abs = float(largest)
    c.worst = offset + i
    c.max_ulp = float(largest)  # one integer step is one ULP
    if largest == 0:
        return c  # no error anywhere: sums and relative error 0, nothing outside
    t_f = buf.f_diff[:m]
    np.copyto(t_f, t, casting="unsafe")  # exact: below 2**24
    if m * largest * largest < _FLOAT32_EXACT:
        # Small errors (the usual case): every partial sum is an integer float32 holds exactly.
        c.sum_abs = float(t_f.sum())
        c.sum_d2 = float(np.einsum("i,i->", t_f, t_f))
    else:
        c.sum_abs = float(int(t.sum(dtype=np.int64)))
        c.sum_d2 = buf.sum_squares(t, largest)
    abs_r = np.abs(r, out=buf.abs_ref[:m])
    c.max_rel = _max_relative(buf, t, t_f, abs_r, floor)
    if c.max_abs > tol_const:
        c.outside = _outside(t, abs_r, tol_const, rtol)
    return c


def _max_relative(buf: IntegerScratch, t: Array, ratio: Array, abs_r: Array, floor: float) -> float:
    """``max(|d| / max(|r|, floor))`` as the float64 path computes it; ``ratio`` holds ``|d|``
    in float32 and is overwritten."""
    m = t.size
    den = buf.f_den[:m]
    np.copyto(den, abs_r, casting="unsafe")
    np.maximum(den, np.float32(floor), out=den)
    np.divide(ratio, den, out=ratio)
    top = float(ratio.max())
    near = np.greater_equal(ratio, np.float32(top * (1 - _RELATIVE_MARGIN)), out=buf.flag[:m])
    candidates = np.flatnonzero(near)
    exact = t[candidates].astype(np.float64) / np.maximum(
        abs_r[candidates].astype(np.float64), floor
    )
    return float(exact.max())


def _outside(t: Array, abs_r: Array, tol_const: float, rtol: float) -> int:
    """Count of ``|d| > |r|*rtol + tol_const``, each tolerance computed in float64 as there.

    The tolerance is never below ``tol_const`` (rtol >= 0), so only errors above it are tested;
    for an integer error, ``|d| > tol_const`` is ``|d| > floor(tol_const)``.
    """
    if not math.isfinite(tol_const):
        return 0
    if rtol == 0:
        # 0*|r| + tol_const is tol_const exactly.
        return int(np.count_nonzero(t > math.floor(tol_const)))
    candidates = np.flatnonzero(t > math.floor(tol_const))
    tol = abs_r[candidates].astype(np.float64) * rtol
    tol += tol_const
    return int(np.count_nonzero(t[candidates].astype(np.float64) > tol))
