"""Distance in units in the last place (ULP), measured in the precision of the output.

Both sides are rounded to the output's float type and their bit patterns compared as integers,
so the distance is the number of representable values between them. A reference of 1.0 and an
fp16 output of 1.000977 are one fp16 ULP apart; ``-0`` and ``+0`` are the same value. Integer
and boolean outputs have a ULP of one integer step. float64 outputs are measured in fp32 ULPs:
Core ML does not compute in float64, so fp32 is the finest precision that means something on a
device.

IEEE floats are sign-magnitude, so for two values of the same sign the distance is the plain
difference of their bit patterns read as integers (it cannot overflow: both lie on one side of
zero). Only pairs whose signs differ need more: their distance is the sum of the magnitudes.
That keeps the streaming pass to a handful of integer operations per element.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pomar_core.arrays import Array


class UlpScratch:
    """Reusable buffers for :func:`ulp_distance_max`, so chunks allocate nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.f32 = (np.empty(size, np.float32), np.empty(size, np.float32))
        self.f16 = (np.empty(size, np.float16), np.empty(size, np.float16))
        self.i32 = np.empty(size, np.int32)
        self.i16 = np.empty(size, np.int16)


def _float_type(output_dtype: np.dtype[Any]) -> tuple[Any, Any]:
    if output_dtype == np.float16:
        return np.float16, np.int16
    return np.float32, np.int32


def _as_bits(values: Array, float_type: Any, bits: Any, buffer: Array) -> Array:
    """``values`` rounded to ``float_type`` (a view when it already is), as integer bits."""
    if values.dtype != float_type:
        with np.errstate(all="ignore"):
            np.copyto(buffer, values, casting="unsafe")
        values = buffer
    return values.view(bits)


def ulp_distance_max(
    reference: Array,
    actual: Array,
    output_dtype: np.dtype[Any],
    scratch: UlpScratch | None = None,
) -> float:
    """The largest ULP distance between two same-size 1-D arrays of finite values."""
    n = reference.size
    if n == 0:
        return 0.0
    if output_dtype.kind != "f":
        diff = np.abs(actual.astype(np.float64) - reference.astype(np.float64))
        return float(diff.max())
    scratch = scratch if scratch is not None and scratch.size >= n else UlpScratch(n)
    float_type, bits = _float_type(output_dtype)
    floats = scratch.f16 if float_type is np.float16 else scratch.f32
    work = (scratch.i16 if bits is np.int16 else scratch.i32)[:n]
    ref_bits = _as_bits(reference, float_type, bits, floats[0][:n])
    act_bits = _as_bits(actual, float_type, bits, floats[1][:n])
    # Signs differ exactly where the xor of the patterns is negative (usually nowhere, or at a
    # few elements near zero: index those rather than masking the whole chunk).
    np.bitwise_xor(ref_bits, act_bits, out=work)
    crossing = np.flatnonzero(work < 0) if int(work.min()) < 0 else None
    np.subtract(act_bits, ref_bits, out=work)  # wraps only where the signs differ
    largest = 0
    if crossing is not None:
        work[crossing] = 0
        magnitude = np.iinfo(bits).max
        across = (ref_bits[crossing].astype(np.int64) & magnitude) + (
            act_bits[crossing].astype(np.int64) & magnitude
        )
        largest = int(across.max())
    return float(max(largest, int(work.max()), -int(work.min())))


def ulp_distance(reference: Array, actual: Array, output_dtype: np.dtype[Any]) -> Array:
    """Element-wise ULP distance (int64), for tests and worst-element tables."""
    ref = np.asarray(reference).reshape(-1)
    act = np.asarray(actual).reshape(-1)
    if output_dtype.kind != "f":
        return np.abs(act.astype(np.int64) - ref.astype(np.int64))
    float_type, bits = _float_type(output_dtype)
    with np.errstate(all="ignore"):
        r = ref.astype(float_type).view(bits).astype(np.int64)
        a = act.astype(float_type).view(bits).astype(np.int64)
    magnitude = int(np.iinfo(bits).max)
    r_mag, a_mag = r & magnitude, a & magnitude
    same = (r < 0) == (a < 0)
    return np.where(same, np.abs(a_mag - r_mag), a_mag + r_mag)
