"""Resizing and cropping: ``upsample_*``, ``resize_*``, ``crop`` (``image_resizing.py``).

Bilinear modes are implemented from the grid-point formulas in the op docstrings, one axis at
a time, so each sampling mode is exactly the spec's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from coreml_emulator.kernels import OpArgs, Tensor, kernel


def _interp_axis(x: Tensor, axis: int, grid: Tensor) -> Tensor:
    """Linear interpolation of ``x`` along ``axis`` at fractional positions ``grid``."""
    size = x.shape[axis]
    grid = grid.clamp(0, size - 1)
    lo = grid.floor().long()
    hi = (lo + 1).clamp(max=size - 1)
    frac = (grid - lo.to(grid.dtype)).to(x.dtype)
    shape = [1] * x.dim()
    shape[axis] = -1
    a = x.index_select(axis, lo)
    b = x.index_select(axis, hi)
    return a + (b - a) * frac.reshape(shape)


def _grid(mode: str, size_in: int, size_out: int) -> Tensor:
    i = torch.arange(size_out, dtype=torch.float64)
    if mode in ("STRICT_ALIGN_CORNERS", "ALIGN_CORNERS"):
        if size_out == 1:
            return torch.full((1,), (size_in - 1) / 2 if mode == "ALIGN_CORNERS" else 0.0)
        return i * ((size_in - 1) / (size_out - 1))
    if mode == "DEFAULT":
        if size_out == 1:
            return torch.zeros(1, dtype=torch.float64)
        return i * ((size_in - size_in / size_out) / (size_out - 1))
    if mode == "OFFSET_CORNERS":
        delta = max(1, size_in - 1) / size_out
        return 0.5 * delta + i * delta
    if mode == "UNALIGN_CORNERS":
        spacing = size_in / size_out
        return i * spacing + 0.5 * spacing - 0.5
    if mode == "LEGACY":  # align_corners=False, half_pixel_centers=False (TF1 style)
        return i * (size_in / size_out)
    raise ValueError(f"unknown sampling mode {mode!r}")


def _bilinear(x: Tensor, height: int, width: int, mode: str) -> Tensor:
    y = _interp_axis(x, x.dim() - 2, _grid(mode, x.shape[-2], height).to(torch.float32))
    return _interp_axis(y, y.dim() - 1, _grid(mode, x.shape[-1], width).to(torch.float32))


def _nearest(x: Tensor, height: int, width: int) -> Tensor:
    rows = (torch.arange(height) * (x.shape[-2] / height)).floor().long().clamp(max=x.shape[-2] - 1)
    cols = (torch.arange(width) * (x.shape[-1] / width)).floor().long().clamp(max=x.shape[-1] - 1)
    return x.index_select(x.dim() - 2, rows).index_select(x.dim() - 1, cols)


def _scaled(args: OpArgs, x: Tensor) -> tuple[int, int]:
    declared = args.output_shape()
    if declared is not None:
        return declared[-2], declared[-1]
    sh = args.float("scale_factor_height", 1.0)
    sw = args.float("scale_factor_width", 1.0)
    return math.floor(x.shape[-2] * sh), math.floor(x.shape[-1] * sw)


@kernel("upsample_nearest_neighbor")
def upsample_nearest_neighbor(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    height, width = _scaled(args, x)
    if height % x.shape[-2] == 0 and width % x.shape[-1] == 0 and x.dim() == 4:
        return F.interpolate(x, size=(height, width), mode="nearest")
    return _nearest(x, height, width)


@kernel("resize_nearest_neighbor")
def resize_nearest_neighbor(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    return _nearest(x, args.int("target_size_height"), args.int("target_size_width"))


@kernel("upsample_bilinear")
def upsample_bilinear(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    height, width = _scaled(args, x)
    align = args.bool("align_corners", True)
    half_pixel = args.bool("half_pixel_centers", not align)
    mode = "STRICT_ALIGN_CORNERS" if align else "UNALIGN_CORNERS" if half_pixel else "LEGACY"
    return _bilinear(x, height, width, mode)


@kernel("resize_bilinear")
def resize_bilinear(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    return _bilinear(
        x,
        args.int("target_size_height", 1),
        args.int("target_size_width", 1),
        args.str("sampling_mode", "DEFAULT"),
    )


@kernel("crop")
def crop(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    top, bottom = args.ints("crop_height")
    left, right = args.ints("crop_width")
    h, w = x.shape[-2], x.shape[-1]
    return x[..., top : h - bottom, left : w - right]


@kernel("resize")
def resize(args: OpArgs) -> Tensor:
    """iOS17 ``resize``: the trailing ``resized_dims`` dims to sizes from ``shape``."""
    x = args.tensor("x")
    count = args.int("resized_dims")
    declared = args.output_shape()
    if declared is not None:
        sizes = list(declared[x.dim() - count :])
    else:
        wanted = args.ints("shape")[len(args.ints("shape")) - count :]
        sizes = [w or x.shape[x.dim() - count + i] for i, w in enumerate(wanted)]
    mode = args.str("sampling_mode", "DEFAULT")
    nearest = args.str("interpolation_mode", "LINEAR") == "NEAREST_NEIGHBOR"
    out = x if x.is_floating_point() else x.to(torch.float32)
    for i, size in enumerate(sizes):
        axis = x.dim() - count + i
        if nearest:
            index = (torch.arange(size) * (x.shape[axis] / size)).floor().long()
            out = out.index_select(axis, index.clamp(max=x.shape[axis] - 1))
        else:
            out = _interp_axis(out, axis, _grid(mode, x.shape[axis], size).to(torch.float32))
    return out
