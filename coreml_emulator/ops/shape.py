"""Shape and layout ops: reshape, transpose, squeeze/expand, slices, flatten, reverse, space/depth
rearrangements (``tensor_transformation.py`` in the defs)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from coreml_emulator.kernels import OpArgs, Tensor, kernel


@kernel("reshape")
def reshape(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    declared = args.output_shape()
    if declared is not None:
        return x.reshape(declared)
    shape = args.ints("shape")
    if 0 in shape:
        if args.opset in ("iOS15", "iOS16"):  # 0 copies the same index of x
            shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
        else:  # iOS17+: zeros match x's dims aligned from the right
            offset = len(shape) - x.dim()
            shape = [
                (x.shape[i - offset] if 0 <= i - offset < x.dim() else 1) if d == 0 else d
                for i, d in enumerate(shape)
            ]
    return x.reshape(shape)


@kernel("reshape_like")
def reshape_like(args: OpArgs) -> Tensor:
    declared = args.output_shape()
    if declared is None:
        raise ValueError("reshape_like needs a static output shape")
    return args.tensor("x").reshape(declared)


@kernel("transpose")
def transpose(args: OpArgs) -> Tensor:
    return args.tensor("x").permute(args.ints("perm"))


@kernel("squeeze")
def squeeze(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    if args.value("axes") is None:
        return x.squeeze()
    return x.squeeze(tuple(a % x.dim() for a in args.ints("axes"))) if x.dim() else x


@kernel("expand_dims")
def expand_dims(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    rank = x.dim() + len(args.ints("axes"))
    for axis in sorted(a % rank for a in args.ints("axes")):
        x = x.unsqueeze(axis)
    return x


@kernel("flatten2d")
def flatten2d(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    axis = args.int("axis", 1) % (x.dim() + 1) if x.dim() else 0
    lead = int(np.prod(x.shape[:axis])) if axis else 1
    return x.reshape(lead, -1)


def _take(x: Tensor, slices: tuple[slice, ...]) -> Tensor:
    """``x[slices]`` including negative steps, which torch indexing lacks."""
    if all(s.step is None or s.step > 0 for s in slices):
        return x[slices]
    for dim, s in enumerate(slices):
        if s.step is not None and s.step < 0:
            index = torch.tensor(list(range(*s.indices(x.shape[dim]))), dtype=torch.long)
            x = x.index_select(dim, index)
        else:
            x = x[(slice(None),) * dim + (s,)]
    return x


@kernel("slice_by_index")
def slice_by_index(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    if args.is_const("begin") and args.is_const("end"):
        key: tuple[object, ...] = (tuple(x.shape),)
    else:  # runtime bounds: resolve each call
        key = (tuple(x.shape), tuple(args.ints("begin")), tuple(args.ints("end")))
    slices, axes = args.memo(key, lambda: _resolve_slices(args, tuple(x.shape)))
    out = _take(x, slices)
    return out.squeeze(axes) if axes else out


def _resolve_slices(
    args: OpArgs, shape: tuple[int, ...]
) -> tuple[tuple[slice, ...], tuple[int, ...]]:
    from coremltools.converters.mil.mil.ops.defs._utils import (
        get_squeeze_axes,
        solve_slice_by_index_slice,
    )

    def vector(name: str) -> npt.NDArray[Any] | None:
        value = args.value(name)
        return None if value is None else np.asarray(value).reshape(-1)

    squeeze_mask = vector("squeeze_mask")
    slices = solve_slice_by_index_slice(
        shape,
        vector("begin"),
        vector("end"),
        vector("stride"),
        vector("begin_mask"),
        vector("end_mask"),
        squeeze_mask,
    )
    return tuple(slices), tuple(get_squeeze_axes(squeeze_mask, len(shape)))


@kernel("slice_by_size")
def slice_by_size(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    begin = args.ints("begin")
    size = args.ints("size")
    slices = []
    for dim, (b, s) in enumerate(zip(begin, size, strict=True)):
        b = b + x.shape[dim] if b < 0 else b
        slices.append(slice(b, b + s) if s > 0 else slice(b, None))
    return x[tuple(slices)]


@kernel("reverse")
def reverse(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    axes = args.value("axes")
    dims = list(range(x.dim())) if axes is None else [a % x.dim() for a in args.ints("axes")]
    return torch.flip(x, dims)


@kernel("pixel_shuffle")
def pixel_shuffle(args: OpArgs) -> Tensor:
    return F.pixel_shuffle(args.tensor("x"), args.int("upscale_factor"))


@kernel("pixel_unshuffle")
def pixel_unshuffle(args: OpArgs) -> Tensor:
    return F.pixel_unshuffle(args.tensor("x"), args.int("downscale_factor"))


@kernel("depth_to_space")
def depth_to_space(args: OpArgs) -> Tensor:
    # MIL follows TensorFlow's DCR ordering: (block, block, C) from the channel dim.
    x = args.tensor("x")
    b = args.int("block_size")
    n, c, h, w = x.shape
    y = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c // (b * b), h * b, w * b)


@kernel("space_to_depth")
def space_to_depth(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    b = args.int("block_size")
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


@kernel("slice_update")
def slice_update(args: OpArgs) -> Tensor:
    """iOS18 ``slice_update``: ``x`` with the ``slice_by_index`` region replaced by ``update``."""
    x = args.tensor("x")
    slices, _ = _resolve_slices(args, tuple(x.shape))
    if any(s.step is not None and s.step < 0 for s in slices):
        raise ValueError("slice_update with a negative stride is not emulated")
    out = x.clone()
    region = out[slices]
    out[slices] = args.tensor("update").to(out.dtype).reshape(region.shape)
    return out
