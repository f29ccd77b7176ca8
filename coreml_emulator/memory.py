"""The emulator's memory model: weight bytes and peak live activation bytes under the op order.

Computed from the program alone, with the same storage dtypes and the same free-after-last-use
schedule the executor follows, so it is what the emulator holds (every op output counted as its
own buffer, as a runtime that materialises each op's result would; views are not discounted).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from coreml_emulator.kernels import Step
from coreml_emulator.precision import Precision


@dataclass(frozen=True)
class MemoryModel:
    """Memory the emulator needs for one prediction."""

    precision: str
    weight_bytes: int
    """Constants and decompressed weights, in their storage dtype under this precision."""
    peak_activation_bytes: int | None
    """Largest sum of live inputs and intermediates at any op; ``None`` if a shape is symbolic."""
    peak_op: str | None
    """The MIL variable produced by the op at which the peak is reached."""

    @property
    def total_bytes(self) -> int | None:
        if self.peak_activation_bytes is None:
            return None
        return self.weight_bytes + self.peak_activation_bytes


def plan_memory(
    *,
    steps: Sequence[Step],
    storage: Sequence[tuple[torch.dtype, ...]],
    weights: Mapping[int, torch.dtype],
    const_numel: Mapping[int, int],
    inputs: Mapping[int, tuple[tuple[Any, ...], torch.dtype]],
    precision: Precision,
) -> MemoryModel:
    """Replay the schedule on declared shapes and storage dtypes."""
    weight_bytes = sum(const_numel[slot] * _itemsize(dtype) for slot, dtype in weights.items())
    sizes: dict[int, int] = {}
    for slot, (shape, dtype) in inputs.items():
        numel = _numel(shape)
        if numel is None:
            return MemoryModel(precision.value, weight_bytes, None, None)
        sizes[slot] = numel * _itemsize(dtype)
    live = sum(sizes.values())
    peak, peak_op = live, None
    for step, dtypes in zip(steps, storage, strict=True):
        for slot, out_shape, dtype in zip(step.outputs, step.output_shapes, dtypes, strict=True):
            if out_shape is None:
                return MemoryModel(precision.value, weight_bytes, None, None)
            sizes[slot] = _numel(out_shape) or 0
            sizes[slot] *= _itemsize(dtype)
            live += sizes[slot]
        if live > peak:
            peak, peak_op = live, step.output_names[0]
        for slot in step.free_after:
            live -= sizes.pop(slot, 0)
    return MemoryModel(precision.value, weight_bytes, peak, peak_op)


def _numel(shape: tuple[Any, ...]) -> int | None:
    total = 1
    for dim in shape:
        if not isinstance(dim, int):
            return None
        total *= dim
    return total


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()
