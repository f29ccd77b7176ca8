"""Spatial rearrangement and sampling ops (``space_to_batch``, ``batch_to_space``,
``sliding_windows``, ``resample``, ``affine``, ``crop_resize``): MIL-built programs compared with
numpy/torch references, and torch ``grid_sample``/``affine_grid`` modules through the converter."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pomar_core.errors import UnsupportedOpError
from tests.coreml_emulator.conftest import check_module, ct, relative_l2, run_mil

rng = np.random.default_rng(3)
X = rng.standard_normal((2, 3, 4, 6)).astype(np.float32)
GRID = rng.uniform(-1.2, 1.2, (2, 5, 7, 2)).astype(np.float32)
THETA = np.array([[0.9, -0.2, 0.1, 0.3, 1.1, -0.05]], np.float32)


def _mb() -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb


def _run(target: Any, x: np.ndarray[Any, Any], build: Callable[[Any], Any]) -> Any:
    (out,) = run_mil(target, x, build)
    return out


def _space_to_batch_reference() -> np.ndarray[Any, Any]:
    padded = np.pad(X, ((0, 0), (0, 0), (1, 1), (0, 0)))  # H 4 -> 6, W 6
    # TF order: batch index (i * block_w + j) * N + n holds padded[n, :, i::2, j::3].
    return np.concatenate([padded[:, :, i::2, j::3] for i in range(2) for j in range(3)])


def _crop_resize_reference(
    boxes: np.ndarray[Any, Any], indices: list[int], h: int, w: int, pad: float
) -> np.ndarray[Any, Any]:
    """``tf.image.crop_and_resize`` from its formula: corner-aligned, out of image -> pad."""
    height, width = X.shape[-2:]
    out = np.zeros((len(indices), X.shape[1], h, w))
    for k, ((y1, x1, y2, x2), b) in enumerate(zip(boxes, indices, strict=True)):
        for i in range(h):
            y = y1 + i * (y2 - y1) / (h - 1) if h > 1 else (y1 + y2) / 2
            for j in range(w):
                xx = x1 + j * (x2 - x1) / (w - 1) if w > 1 else (x1 + x2) / 2
                if not (0 <= y <= height - 1 and 0 <= xx <= width - 1):
                    out[k, :, i, j] = pad
                    continue
                y0, x0 = int(np.floor(y)), int(np.floor(xx))
                y1i, x1i = min(y0 + 1, height - 1), min(x0 + 1, width - 1)
                fy, fx = y - y0, xx - x0
                img = X[b].astype(np.float64)
                top = img[:, y0, x0] * (1 - fx) + img[:, y0, x1i] * fx
                bottom = img[:, y1i, x0] * (1 - fx) + img[:, y1i, x1i] * fx
                out[k, :, i, j] = top * (1 - fy) + bottom * fy
    return out


BOXES = np.array([[0.5, 0.2, 2.5, 4.9], [-0.5, 1.0, 3.0, 6.5], [1.0, 1.0, 1.0, 3.0]], np.float32)


def _grid_sample(mode: str, padding: str, align: bool) -> np.ndarray[Any, Any]:
    padding = "zeros" if padding == "constant" else padding
    return F.grid_sample(torch.from_numpy(X), torch.from_numpy(GRID), mode, padding, align).numpy()


def _resample(mode: str, padding: str, align: bool) -> Callable[[Any], Any]:
    def build(x: Any) -> Any:  # mb.program reads the signature: no defaulted arguments
        return _mb().resample(
            x=x,
            coordinates=GRID,
            sampling_mode=mode,
            padding_mode=padding,
            padding_value=0.0,
            coordinates_mode="normalized_minus_one_to_one",
            align_corners=align,
        )

    return build


Case = tuple[Any, np.ndarray[Any, Any], Callable[[Any], Any], Callable[[], Any]]

CASES: dict[str, Case] = {
    "space_to_batch_pads_then_moves_blocks_into_the_batch": (
        ct.target.iOS16,
        X,
        lambda x: _mb().space_to_batch(x=x, block_shape=[2, 3], paddings=[[1, 1], [0, 0]]),
        _space_to_batch_reference,
    ),
    "batch_to_space_inverts_space_to_batch": (
        ct.target.iOS16,
        X,
        lambda x: _mb().batch_to_space(
            x=_mb().space_to_batch(x=x, block_shape=[2, 3], paddings=[[1, 1], [0, 0]]),
            block_shape=[2, 3],
            crops=[[1, 1], [0, 0]],
        ),
        lambda: X,
    ),
    "sliding_windows_splits_an_axis_into_windows": (
        ct.target.iOS16,
        X,
        lambda x: _mb().sliding_windows(x=x, axis=3, size=3, stride=2),
        lambda: np.moveaxis(np.lib.stride_tricks.sliding_window_view(X, 3, axis=3), -1, 4)[
            :, :, :, ::2
        ],
    ),
    **{
        f"resample_{mode}_{padding}_{'aligned' if align else 'unaligned'}": (
            ct.target.iOS16,
            X,
            _resample(mode, padding, align),
            functools.partial(_grid_sample, mode, padding, align),
        )
        for mode, padding, align in (
            ("bilinear", "constant", False),
            ("bilinear", "border", True),
            ("nearest", "reflection", True),
        )
    },
    "resample_symmetric_is_torch_reflection_without_aligned_corners": (
        ct.target.iOS16,
        X,
        lambda x: _mb().resample(
            x=x,
            coordinates=GRID,
            sampling_mode="bilinear",
            padding_mode="symmetric",
            padding_value=0.0,
            coordinates_mode="normalized_minus_one_to_one",
            align_corners=False,
        ),
        lambda: _grid_sample("bilinear", "reflection", False),
    ),
    "resample_unnormalized_pixels_with_a_pad_value": (
        ct.target.iOS16,
        X,
        lambda x: _mb().resample(
            x=x,
            coordinates=(GRID + 1) / 2 * np.array([5, 3], np.float32),
            sampling_mode="bilinear",
            padding_mode="constant",
            padding_value=2.5,
            coordinates_mode="unnormalized",
            align_corners=True,
        ),
        lambda: (
            _grid_sample("bilinear", "zeros", True)
            + 2.5
            * (
                1
                - F.grid_sample(
                    torch.ones(2, 3, 4, 6), torch.from_numpy(GRID), "bilinear", "zeros", True
                )
            ).numpy()
        ),
    ),
    "affine_matches_affine_grid_then_grid_sample": (
        ct.target.iOS16,
        X,
        lambda x: _mb().affine(
            x=x,
            transform_matrix=THETA,
            output_height=5,
            output_width=3,
            sampling_mode="bilinear",
            padding_mode="constant",
            padding_value=0.0,
            coordinates_mode="normalized_minus_one_to_one",
            align_corners=True,
        ),
        lambda: F.grid_sample(
            torch.from_numpy(X),
            F.affine_grid(
                torch.from_numpy(THETA).reshape(1, 2, 3).expand(2, 2, 3), [2, 3, 5, 3], True
            ),
            "bilinear",
            "zeros",
            True,
        ).numpy(),
    ),
    "crop_resize_ios17_boxes_with_indices_and_pad_value": (
        ct.target.iOS17,
        X,
        lambda x: _mb().crop_resize(
            x=x,
            boxes=BOXES,
            box_indices=np.array([1, 0, 1], np.int32),
            target_height=3,
            target_width=5,
            sampling_mode="ALIGN_CORNERS",
            pad_value=-1.0,
        ),
        lambda: _crop_resize_reference(BOXES, [1, 0, 1], 3, 5, -1.0),
    ),
    "crop_resize_ios16_roi_normalized_width_first_per_batch": (
        ct.target.iOS16,
        X,
        lambda x: _mb().crop_resize(
            x=x,
            roi=np.array([0.1, 0.0, 0.9, 1.0], np.float32).reshape(1, 1, 4, 1, 1),
            target_height=4,
            target_width=2,
            normalized_coordinates=True,
            box_coordinate_mode="CORNERS_WIDTH_FIRST",
            sampling_mode="STRICT_ALIGN_CORNERS",
        ),
        lambda: _crop_resize_reference(
            np.array([[0.0, 0.5, 3.0, 4.5]] * 2), [0, 1], 4, 2, 0.0
        ).reshape(1, 2, 3, 4, 2),
    ),
    "crop_resize_ios15_roi_with_batch_index_and_spatial_scale": (
        ct.target.iOS15,
        X[1:],
        lambda x: _mb().crop_resize(
            x=x,
            roi=np.array([0, 1.0, 0.0, 5.0, 8.0], np.float32).reshape(1, 1, 5, 1, 1),
            target_height=3,
            target_width=4,
            spatial_scale=0.5,
            sampling_mode="ALIGN_CORNERS",
        ),
        lambda: _crop_resize_reference(np.array([[0.5, 0.0, 2.5, 4.0]]), [1], 3, 4, 0.0).reshape(
            1, 1, 3, 3, 4
        ),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_spatial_op_matches_its_reference(case: str) -> None:
    target, x, build, reference = CASES[case]
    out = _run(target, x, build)
    expected = np.asarray(reference(), np.float64)
    assert out.shape == expected.shape
    assert relative_l2(out, expected) <= 1e-5


def test_crop_resize_refuses_a_batch_index_roi_when_the_batch_has_several_images() -> None:
    # The op's docstring and its type inference disagree on the output shape here.
    with pytest.raises(UnsupportedOpError, match="batch index"):
        _run(
            ct.target.iOS16,
            X,
            lambda x: _mb().crop_resize(
                x=x,
                roi=np.array([1, 0.0, 0.0, 2.0, 2.0], np.float32).reshape(1, 1, 5, 1, 1),
                sampling_mode="ALIGN_CORNERS",
            ),
        )


def test_crop_resize_refuses_sampling_modes_it_does_not_emulate() -> None:
    with pytest.raises(UnsupportedOpError, match=r"crop_resize.*UNALIGN_CORNERS"):
        _run(
            ct.target.iOS17,
            X,
            lambda x: _mb().crop_resize(
                x=x,
                boxes=BOXES[:2],
                target_height=2,
                target_width=2,
                sampling_mode="UNALIGN_CORNERS",
            ),
        )


class GridSample(nn.Module):
    def __init__(self, mode: str, padding: str, align: bool) -> None:
        super().__init__()
        self.mode, self.padding, self.align = mode, padding, align

    def forward(self, x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        return F.grid_sample(x, grid, self.mode, self.padding, self.align)


@pytest.mark.parametrize(
    ("mode", "padding", "align"),
    [("bilinear", "zeros", False), ("nearest", "border", True), ("bilinear", "reflection", False)],
)
def test_torch_grid_sample_converts_to_resample_and_matches_torch(
    mode: str, padding: str, align: bool
) -> None:
    # Nearest sampling flips at exact .5 boundaries under fp16 rounding; keep it fp32-only.
    check_module(
        GridSample(mode, padding, align),
        torch.from_numpy(X),
        torch.from_numpy(GRID),
        fp16=mode == "bilinear",
        target=ct.target.iOS16,
    )
