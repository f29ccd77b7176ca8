"""Precision modes and the dtype rules that define them.

``fp32``
    Every MIL variable is stored in the dtype the program declares; arithmetic in fp32. An
    fp16-converted program therefore still rounds to half at each of its fp16 op boundaries.
``fp16``
    Like a GPU/ANE: every floating tensor is stored in half precision at every op boundary and
    arithmetic runs in fp32 before rounding. If the program already carries fp16 compute (it was
    converted with FLOAT16 and has explicit casts), its declared dtypes are honoured, so the fp32
    islands the converter left stay fp32.
``fp16-strict``
    As ``fp16``, and kernels also accumulate in half precision: the pessimistic bound.
``fp32-upcast``
    Every floating tensor is held in fp32, even where the program declares fp16 (its fp16 casts,
    weights stay as stored but are not rounded again): a true fp32 trace of an fp16
    ``.mlpackage`` whose source model is not at hand. Outputs declared fp16 come back as fp32
    arrays, and an fp16 input passed as an fp32 array keeps its fp32 values.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import torch

from pomar_core.errors import UsageError


class Precision(StrEnum):
    """How the emulator stores and computes floating tensors."""

    FP32 = "fp32"
    FP16 = "fp16"
    FP16_STRICT = "fp16-strict"
    FP32_UPCAST = "fp32-upcast"

    @classmethod
    def parse(cls, value: str | Precision) -> Precision:
        """The mode named by ``value``; a ``UsageError`` listing the choices otherwise."""
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(p.value for p in cls)
            raise UsageError(
                f"unknown emulator precision {value!r}", hint=f"use one of: {choices}"
            ) from None

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype kernels receive floating inputs in."""
        return torch.float16 if self is Precision.FP16_STRICT else torch.float32

    @property
    def rounds_to_half(self) -> bool:
        """Whether fp32-declared tensors are stored in half precision."""
        return self in (Precision.FP16, Precision.FP16_STRICT)


NUMPY_TO_TORCH: dict[np.dtype[np.generic], torch.dtype] = {
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float16): torch.float16,
    np.dtype(np.float64): torch.float64,
    np.dtype(np.int32): torch.int32,
    np.dtype(np.int64): torch.int64,
    np.dtype(np.int16): torch.int16,
    np.dtype(np.int8): torch.int8,
    np.dtype(np.uint8): torch.uint8,
    np.dtype(np.uint16): torch.uint16,
    np.dtype(np.uint32): torch.uint32,
    np.dtype(np.bool_): torch.bool,
}
TORCH_TO_NUMPY: dict[torch.dtype, np.dtype[np.generic]] = {t: n for n, t in NUMPY_TO_TORCH.items()}


def torch_dtype(np_dtype: np.dtype[np.generic] | type) -> torch.dtype:
    """The torch dtype matching a numpy dtype."""
    return NUMPY_TO_TORCH[np.dtype(np_dtype)]


def storage_dtype(
    declared: torch.dtype, precision: Precision, program_has_fp16: bool
) -> torch.dtype:
    """The dtype a variable declared as ``declared`` is held in under ``precision``."""
    if declared == torch.float32 and precision.rounds_to_half and not program_has_fp16:
        return torch.float16
    if declared == torch.float16 and precision is Precision.FP32_UPCAST:
        return torch.float32
    return declared


def output_dtype(declared: np.dtype[Any], precision: Precision) -> np.dtype[Any]:
    """The numpy dtype an output declared as ``declared`` is returned in under ``precision``."""
    if declared == np.float16 and precision is Precision.FP32_UPCAST:
        return np.dtype(np.float32)
    return declared
