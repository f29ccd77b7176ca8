"""Spatial rearrangement and sampling ops: ``space_to_batch``, ``batch_to_space``,
``sliding_windows`` (``tensor_transformation.py``), ``resample``, ``affine`` and
``crop_resize`` (``image_resizing.py``).

Sampling modes whose exact grid the spec leaves open are refused with
``UnsupportedOpError`` rather than guessed: a clear refusal beats a wrong answer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from coreml_emulator.kernels import OpArgs, Tensor, kernel
from pomar_core.errors import UnsupportedOpError


def _refuse(args: OpArgs, detail: str) -> UnsupportedOpError:
    return UnsupportedOpError(args.op_type, args.opset, detail=detail)


@kernel("space_to_batch")
def space_to_batch(args: OpArgs) -> Tensor:
    """TF semantics: pad, then move each ``block_shape`` offset into the batch, offset-major."""
    x = args.tensor("x")
    blocks = args.ints("block_shape")
    pads = args.ints("paddings")  # [[before, after]] per spatial dim, flattened
    if len(blocks) != x.dim() - 2:
        raise _refuse(args, f"block_shape {blocks} for a rank-{x.dim()} input")
    torch_pads: list[int] = []
    for i in reversed(range(len(blocks))):  # F.pad takes the last dim first
        torch_pads += [pads[2 * i], pads[2 * i + 1]]
    x = F.pad(x, torch_pads)
    n, c = x.shape[0], x.shape[1]
    split: list[int] = [n, c]
    for i, b in enumerate(blocks):
        split += [x.shape[2 + i] // b, b]
    y = x.reshape(split)
    k = len(blocks)
    order = [3 + 2 * i for i in range(k)] + [0, 1] + [2 + 2 * i for i in range(k)]
    y = y.permute(order)
    return y.reshape(
        [n * int(torch.tensor(blocks).prod()), c, *(split[2 + 2 * i] for i in range(k))]
    )


@kernel("batch_to_space")
def batch_to_space(args: OpArgs) -> Tensor:
    """The inverse of :func:`space_to_batch`: spread the batch into blocks, then crop."""
    x = args.tensor("x")
    blocks = args.ints("block_shape")
    crops = args.ints("crops")
    k = len(blocks)
    if k != x.dim() - 2:
        raise _refuse(args, f"block_shape {blocks} for a rank-{x.dim()} input")
    total = int(torch.tensor(blocks).prod())
    n, c, spatial = x.shape[0] // total, x.shape[1], list(x.shape[2:])
    y = x.reshape([*blocks, n, c, *spatial])
    order = [k, k + 1]
    for i in range(k):
        order += [k + 2 + i, i]
    y = y.permute(order).reshape([n, c, *(s * b for s, b in zip(spatial, blocks, strict=True))])
    for i in range(k):
        size = y.shape[2 + i]
        y = y.narrow(2 + i, crops[2 * i], size - crops[2 * i] - crops[2 * i + 1])
    return y


@kernel("sliding_windows")
def sliding_windows(args: OpArgs) -> Tensor:
    """Windows of ``size`` along ``axis`` every ``stride``: the axis becomes ``[windows, size]``."""
    x = args.tensor("x")
    axis = args.int("axis")
    axis = axis + x.dim() if axis < 0 else axis
    windows = x.unfold(axis, args.int("size"), args.int("stride", 1))
    return windows.movedim(-1, axis + 1)


def _grid_sample(args: OpArgs, x: Tensor, grid: Tensor, align_corners: bool, mode: str) -> Tensor:
    """``grid`` in ``[-1, 1]`` coordinates, ``(w, h)`` order, as torch's ``grid_sample`` takes."""
    padding = args.str("padding_mode", "constant")
    # Core ML's "reflection" mirrors about the edge pixels' centres and "symmetric" about their
    # outer edges; torch's "reflection" does the first with align_corners=True and the second
    # with align_corners=False (the converter maps torch that way). Other pairs are refused.
    if padding == "reflection" and not align_corners:
        raise _refuse(args, "padding_mode 'reflection' with align_corners=False")
    if padding == "symmetric":
        if align_corners:
            raise _refuse(args, "padding_mode 'symmetric' with align_corners=True")
        padding = "reflection"
    if padding not in ("constant", "border", "reflection"):
        raise _refuse(args, f"padding_mode {padding!r}")
    if mode not in ("bilinear", "nearest"):
        raise _refuse(args, f"sampling_mode {mode!r}")
    grid = grid.to(x.dtype)
    if padding == "constant":
        # Sampling is linear in x, so shifting by the pad value makes torch's zero padding it.
        pad = args.float("padding_value", 0.0)
        shifted = x - pad if pad else x
        out = F.grid_sample(shifted, grid, mode, "zeros", align_corners)
        return out + pad if pad else out
    return F.grid_sample(x, grid, mode, padding, align_corners)


@kernel("resample")
def resample(args: OpArgs) -> Tensor:
    """Sample ``x`` at ``coordinates`` (``(w, h)`` per output pixel), as ``F.grid_sample``."""
    x = args.tensor("x")
    coords = args.tensor("coordinates").to(x.dtype if x.is_floating_point() else torch.float32)
    align = args.bool("align_corners", False)
    mode = args.str("coordinates_mode", "normalized_minus_one_to_one")
    if mode == "normalized_zero_to_one":
        coords = coords * 2 - 1
    elif mode == "unnormalized":
        # In-image pixel centres are 0..size-1; map to grid_sample's normalized convention.
        size = torch.tensor([x.shape[-1], x.shape[-2]], dtype=coords.dtype)
        coords = 2 * coords / (size - 1) - 1 if align else (2 * coords + 1) / size - 1
    elif mode != "normalized_minus_one_to_one":
        raise _refuse(args, f"coordinates_mode {mode!r}")
    return _grid_sample(args, x, coords, align, args.str("sampling_mode", "bilinear"))


@kernel("affine")
def affine(args: OpArgs) -> Tensor:
    """Output pixel ``(w, h)`` in ``[-1, 1]`` coordinates samples the input at the affine image
    of that point: exactly ``F.affine_grid`` followed by ``F.grid_sample``."""
    x = args.tensor("x")
    if args.str("coordinates_mode", "normalized_minus_one_to_one") != "normalized_minus_one_to_one":
        raise _refuse(args, "coordinates_mode other than normalized_minus_one_to_one")
    theta = args.tensor("transform_matrix").reshape(-1, 2, 3).to(x.dtype)
    theta = theta.expand(x.shape[0], 2, 3)
    align = args.bool("align_corners", True)
    size = [x.shape[0], x.shape[1], args.int("output_height"), args.int("output_width")]
    grid = F.affine_grid(theta, size, align_corners=align)
    return _grid_sample(args, x, grid, align, args.str("sampling_mode", "bilinear"))


def _box_grid(start: Tensor, end: Tensor, count: int, strict: bool) -> Tensor:
    """Sample positions across each box, corners aligned (``tf.image.crop_and_resize``)."""
    if count == 1:
        return start[:, None] if strict else ((start + end) / 2)[:, None]
    steps = torch.arange(count, dtype=start.dtype) / (count - 1)
    return start[:, None] + (end - start)[:, None] * steps[None, :]


def _corners(args: OpArgs, boxes: Tensor, height: int, width: int) -> tuple[Tensor, ...]:
    """Boxes as ``(h_start, w_start, h_end, w_end)`` in input pixels."""
    mode = args.str("box_coordinate_mode", "CORNERS_HEIGHT_FIRST")
    a, b, c, d = boxes.unbind(-1)
    if mode == "CORNERS_HEIGHT_FIRST":
        corners = (a, b, c, d)
    elif mode == "CORNERS_WIDTH_FIRST":
        corners = (b, a, d, c)
    elif mode == "CENTER_SIZE_HEIGHT_FIRST":
        corners = (a - c / 2, b - d / 2, a + c / 2, b + d / 2)
    elif mode == "CENTER_SIZE_WIDTH_FIRST":
        corners = (b - d / 2, a - c / 2, b + d / 2, a + c / 2)
    else:
        raise _refuse(args, f"box_coordinate_mode {mode!r}")
    scale = args.float("spatial_scale", 1.0)
    if args.bool("normalized_coordinates", False):
        sizes = (height - 1, width - 1, height - 1, width - 1)
        return tuple(v * s * scale for v, s in zip(corners, sizes, strict=True))
    return tuple(v * scale for v in corners)


def _bilinear_at(images: Tensor, ys: Tensor, xs: Tensor, pad: float) -> Tensor:
    """``images[n]`` ([N, C, H, W]) sampled at ``ys[n] x xs[n]``; outside the image is ``pad``."""
    height, width = images.shape[-2], images.shape[-1]
    y0 = ys.floor().clamp(0, height - 1)
    x0 = xs.floor().clamp(0, width - 1)
    fy = (ys - y0).clamp(0, 1)[:, None, :, None]
    fx = (xs - x0).clamp(0, 1)[:, None, None, :]
    y0i, x0i = y0.long(), x0.long()
    y1i, x1i = (y0i + 1).clamp(max=height - 1), (x0i + 1).clamp(max=width - 1)
    n = torch.arange(images.shape[0])[:, None, None]

    def at(yi: Tensor, xi: Tensor) -> Tensor:  # [N, h, w, C] -> [N, C, h, w]
        return images[n, :, yi[:, :, None], xi[:, None, :]].permute(0, 3, 1, 2)

    top = at(y0i, x0i) + (at(y0i, x1i) - at(y0i, x0i)) * fx
    bottom = at(y1i, x0i) + (at(y1i, x1i) - at(y1i, x0i)) * fx
    out = top + (bottom - top) * fy
    outside = ((ys < 0) | (ys > height - 1))[:, None, :, None] | ((xs < 0) | (xs > width - 1))[
        :, None, None, :
    ]
    return out.masked_fill(outside, pad)


@kernel("crop_resize")
def crop_resize(args: OpArgs) -> Tensor:
    """Bilinear crops of boxes, corner-aligned sampling modes only (what TF's
    ``crop_and_resize`` converts to); other modes are refused rather than guessed."""
    x = args.tensor("x")
    mode = args.str("sampling_mode", "DEFAULT")
    if mode not in ("ALIGN_CORNERS", "STRICT_ALIGN_CORNERS"):
        raise _refuse(args, f"sampling_mode {mode!r} (only the corner-aligned modes are emulated)")
    batch, height, width = x.shape[0], x.shape[-2], x.shape[-1]
    if args.has("boxes"):  # iOS17: boxes [N, 4] and optional box_indices -> [N, C, h, w]
        boxes = args.tensor("boxes").to(torch.float32)
        index_input = args.optional_tensor("box_indices")
        indices = torch.arange(boxes.shape[0]) if index_input is None else index_input.long()
        legacy_shape: list[int] | None = None
    else:  # iOS15/16: roi [N, 1, 4|5, 1, 1] -> [N, B|1, C, h, w]
        roi = args.tensor("roi").to(torch.float32).reshape(args.tensor("roi").shape[0], -1)
        if roi.shape[1] == 5:
            if batch != 1:
                # The docstring says [N, 1, C, h, w] but type inference declares [N, B, C, h, w]:
                # what Core ML fills the other B - 1 slots with is unspecified, so refuse.
                raise _refuse(args, "a 5-element roi (batch index) with a batch larger than 1")
            indices, boxes = roi[:, 0].long(), roi[:, 1:]
            legacy_shape = [roi.shape[0], 1]
        else:
            indices = torch.arange(batch).repeat(roi.shape[0])
            boxes = roi.repeat_interleave(batch, dim=0)
            legacy_shape = [roi.shape[0], batch]
    h_start, w_start, h_end, w_end = _corners(args, boxes, height, width)
    strict = mode == "STRICT_ALIGN_CORNERS"
    ys = _box_grid(h_start, h_end, args.int("target_height", 1), strict)
    xs = _box_grid(w_start, w_end, args.int("target_width", 1), strict)
    images = x.index_select(0, indices)
    out = _bilinear_at(images, ys.to(x.dtype), xs.to(x.dtype), args.float("pad_value", 0.0))
    return out if legacy_shape is None else out.reshape(*legacy_shape, *out.shape[1:])
