"""Distance in units in the last place (ULP), measured in the precision of the output.

Both sides are rounded to the output's float type and their bit patterns mapped to integers
that are ordered like the floats (``-0`` and ``+0`` meet at zero), so the distance is the number
of representable values between them. A reference of 1.0 and an fp16 output of 1.000977 are one
fp16 ULP apart. Integer and boolean outputs have a ULP of one integer step. float64 outputs are
measured in fp32 ULPs: Core ML does not compute in float64, so fp32 is the finest precision that
means something on a device.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]


class UlpScratch:
    """Reusable buffers for :func:`ulp_distance_max`, so chunks allocate nothing."""

    def __init__(self, size: int) -> None:
        self.ref = np.empty(size, np.int32)
        self.act = np.empty(size, np.int32)
        self.diff = np.empty(size, np.float64)
        self.sign = np.empty(size, np.int32)


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
    scratch = scratch if scratch is not None and scratch.ref.size >= n else UlpScratch(n)
    if output_dtype == np.float16:
        float_type: type[np.floating[Any]] = np.float16
        bits: Any = np.int16
    else:
        float_type, bits = np.float32, np.int32
    ref_ordered = _ordered_into(reference, float_type, bits, scratch.ref[:n], scratch.sign[:n])
    act_ordered = _ordered_into(actual, float_type, bits, scratch.act[:n], scratch.sign[:n])
    diff = scratch.diff[:n]
    np.subtract(act_ordered, ref_ordered, out=diff, dtype=np.float64)
    return max(float(diff.max()), -float(diff.min()))


def _ordered_into(values: Array, float_type: Any, bits: Any, out: Array, sign: Array) -> Array:
    """Bit patterns mapped to int32 so that integer order is float order and -0 == +0.

    Branch-free: a negative pattern ``-2^k + m`` becomes ``-m`` as ``(p ^ (s & max)) - s`` with
    ``s = p >> 31`` (0 or -1); a few in-place integer passes.
    """
    with np.errstate(all="ignore"):
        as_float = values if values.dtype == float_type else values.astype(float_type)
    np.copyto(out, as_float.view(bits))  # sign-extends int16 patterns
    np.right_shift(out, 31, out=sign)
    np.bitwise_and(sign, np.iinfo(bits).max, out=sign)
    np.bitwise_xor(out, sign, out=out)
    np.right_shift(out, 31, out=sign)  # the xor kept the sign bit
    np.subtract(out, sign, out=out)
    return out


def ulp_distance(reference: Array, actual: Array, output_dtype: np.dtype[Any]) -> Array:
    """Element-wise ULP distance (int64), for tests and worst-element tables."""
    ref = np.asarray(reference).reshape(-1)
    act = np.asarray(actual).reshape(-1)
    if output_dtype.kind != "f":
        return np.abs(act.astype(np.int64) - ref.astype(np.int64))
    float_type, bits = (
        (np.float16, np.int16) if output_dtype == np.float16 else (np.float32, np.int32)
    )
    scratch = UlpScratch(ref.size)
    r = _ordered_into(ref, float_type, bits, scratch.ref, scratch.sign)
    a = _ordered_into(act, float_type, bits, scratch.act, scratch.sign)
    return np.abs(a.astype(np.int64) - r.astype(np.int64))
