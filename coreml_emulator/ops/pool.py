"""Pooling: ``max_pool``, ``avg_pool``, ``l2_pool`` over 1-3 spatial dims (``pool.py``)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from coreml_emulator.kernels import OpArgs, Tensor, kernel
from coreml_emulator.ops.conv import spatial_padding

_AVG: dict[int, Callable[..., Tensor]] = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_MAX: dict[int, Callable[..., Tensor]] = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


def _window(args: OpArgs, x: Tensor) -> tuple[list[int], list[int], list[tuple[int, int]], bool]:
    n = x.dim() - 2
    kernel_sizes = args.ints("kernel_sizes")
    strides = args.ints("strides", [1] * n)
    pads = spatial_padding(
        args.str("pad_type", "valid"),
        args.ints("pad", [0] * (2 * n)),
        x.shape[2:],
        kernel_sizes,
        strides,
        [1] * n,
    )
    return kernel_sizes, strides, pads, args.bool("ceil_mode", False)


def _ceil_trimmed(
    out: Tensor,
    x: Tensor,
    kernel_sizes: list[int],
    strides: list[int],
    pads: list[tuple[int, int]],
    ceil_mode: bool,
) -> Tensor:
    """``out`` cut to MIL's ceil-mode length: with padding, a last window that would start at
    or past ``in + pad_begin`` is dropped (``spatial_dimensions_out_shape`` in the op defs), which
    torch cannot see once the padding is explicit. Static programs declare this length; for
    symbolic sizes the kernel must produce it itself."""
    if not ceil_mode:
        return out
    spatial = x.dim() - 2
    for axis in range(spatial):
        size, (begin, end) = x.shape[2 + axis], pads[axis]
        k, s = kernel_sizes[axis], strides[axis]
        length = (size + begin + end - k + s - 1) // s + 1
        if (begin or end) and (length - 1) * s >= size + begin:
            length -= 1
        if out.shape[2 + axis] > length:
            out = out.narrow(2 + axis, 0, length)
    return out


def _flat(pads: list[tuple[int, int]]) -> list[int]:
    flat: list[int] = []
    for begin, end in reversed(pads):
        flat += [begin, end]
    return flat


@kernel("max_pool")
def max_pool(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    kernel_sizes, strides, pads, ceil_mode = _window(args, x)
    padded = F.pad(x, _flat(pads), value=float("-inf")) if any(p for q in pads for p in q) else x
    pooled = _MAX[x.dim() - 2](padded, kernel_sizes, strides, 0, 1, ceil_mode)
    return _ceil_trimmed(pooled, x, kernel_sizes, strides, pads, ceil_mode)


@kernel("avg_pool")
def avg_pool(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    kernel_sizes, strides, pads, ceil_mode = _window(args, x)
    n = x.dim() - 2
    padded = any(p for pair in pads for p in pair)
    x_padded = F.pad(x, _flat(pads)) if padded else x
    # Windows hanging past the padded edge (ceil_mode) average what they cover, as in torch.
    pooled = _AVG[n](x_padded, kernel_sizes, strides, 0, ceil_mode, True)
    pooled = _ceil_trimmed(pooled, x, kernel_sizes, strides, pads, ceil_mode)
    if not (padded and args.bool("exclude_padding_from_average", False)):
        return pooled
    # The mean over the padded window times the share of real elements in it.
    mask = F.pad(torch.ones_like(x[:1, :1]), _flat(pads))
    share = _AVG[n](mask, kernel_sizes, strides, 0, ceil_mode, True)
    return pooled / _ceil_trimmed(share, x, kernel_sizes, strides, pads, ceil_mode)


@kernel("l2_pool")
def l2_pool(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    kernel_sizes, strides, pads, ceil_mode = _window(args, x)
    n = x.dim() - 2
    squared = F.pad(x * x, _flat(pads))
    window = 1
    for k in kernel_sizes:
        window *= k
    pooled = _AVG[n](squared, kernel_sizes, strides, 0, ceil_mode, True)
    return torch.sqrt(_ceil_trimmed(pooled, x, kernel_sizes, strides, pads, ceil_mode) * window)
