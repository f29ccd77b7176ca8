"""Ops that torch rarely or never emits through the converter, built directly with MIL's builder
and compared with torch or numpy: resize modes, crop, l2_pool, less common reductions, the
scatter family, gather_nd, one_hot, band_part, depth/space, attention, slice_update, quantize."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.coreml_emulator.conftest import ct, relative_l2, run_mil

rng = np.random.default_rng(0)
X = rng.standard_normal((1, 2, 4, 6)).astype(np.float32)
POSITIVE = (np.abs(X) + 0.5).astype(np.float32)
IDX = np.array([2, 0, 2], np.int32)


def _mb() -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb


def t(a: np.ndarray[Any, Any]) -> torch.Tensor:
    return torch.from_numpy(a)


def _ramp_grid(size_in: int, size_out: int, mode: str) -> np.ndarray[Any, Any]:
    """Sampling positions the spec's docstring gives each mode (``resize_bilinear``), clamped to
    the input: on a ramp whose value is its index, bilinear output is the position itself."""
    i = np.arange(size_out, dtype=np.float64)
    if mode in ("ALIGN_CORNERS", "STRICT_ALIGN_CORNERS"):
        grid = i * (size_in - 1) / (size_out - 1)
    elif mode == "DEFAULT":
        grid = i * (size_in - size_in / size_out) / (size_out - 1)
    elif mode == "OFFSET_CORNERS":
        delta = max(1, size_in - 1) / size_out
        grid = delta / 2 + i * delta
    else:  # UNALIGN_CORNERS
        spacing = size_in / size_out
        grid = i * spacing + spacing / 2 - 0.5
    return np.clip(grid, 0, size_in - 1)


def _resize_bilinear(mode: str) -> Callable[[Any], Any]:
    def build(x: Any) -> Any:  # mb.program reads the signature: no defaulted arguments
        return _mb().resize_bilinear(
            x=x, target_size_height=4, target_size_width=9, sampling_mode=mode
        )

    return build


RAMP = np.tile(np.arange(6, dtype=np.float32), (1, 1, 4, 1))  # value = column index


Case = tuple[Any, np.ndarray[Any, Any], Callable[[Any], Any], Callable[[], np.ndarray[Any, Any]]]

CASES: dict[str, Case] = {
    **{
        f"resize_bilinear_{mode.lower()}": (
            ct.target.iOS16,
            RAMP,
            _resize_bilinear(mode),
            lambda mode=mode: np.broadcast_to(_ramp_grid(6, 9, mode), (1, 1, 4, 9)),
        )
        for mode in (
            "DEFAULT",
            "STRICT_ALIGN_CORNERS",
            "ALIGN_CORNERS",
            "OFFSET_CORNERS",
            "UNALIGN_CORNERS",
        )
    },
    "resize_bilinear_unalign_matches_torch": (
        ct.target.iOS16,
        X,
        lambda x: _mb().resize_bilinear(
            x=x, target_size_height=7, target_size_width=9, sampling_mode="UNALIGN_CORNERS"
        ),
        lambda: F.interpolate(t(X), size=(7, 9), mode="bilinear", align_corners=False).numpy(),
    ),
    "resize_nearest_neighbor": (
        ct.target.iOS16,
        X,
        lambda x: _mb().resize_nearest_neighbor(x=x, target_size_height=8, target_size_width=9),
        lambda: F.interpolate(t(X), size=(8, 9), mode="nearest").numpy(),
    ),
    "resize_ios17_linear": (
        ct.target.iOS17,
        X,
        lambda x: _mb().resize(
            x=x,
            shape=np.array([7, 9], np.int32),
            resized_dims=np.uint32(2),
            sampling_mode="ALIGN_CORNERS",
        ),
        lambda: F.interpolate(t(X), size=(7, 9), mode="bilinear", align_corners=True).numpy(),
    ),
    "resize_ios17_nearest": (
        ct.target.iOS17,
        X,
        lambda x: _mb().resize(
            x=x,
            shape=np.array([8, 12], np.int32),
            resized_dims=np.uint32(2),
            interpolation_mode="NEAREST_NEIGHBOR",
        ),
        lambda: F.interpolate(t(X), size=(8, 12), mode="nearest").numpy(),
    ),
    "crop": (
        ct.target.iOS16,
        X,
        lambda x: _mb().crop(x=x, crop_height=[1, 2], crop_width=[2, 1]),
        lambda: X[..., 1:2, 2:5],
    ),
    "l2_pool": (
        ct.target.iOS16,
        X,
        lambda x: _mb().l2_pool(x=x, kernel_sizes=[2, 3], strides=[2, 3], pad_type="valid"),
        lambda: F.lp_pool2d(t(X), 2, (2, 3), (2, 3)).numpy(),
    ),
    "reduce_prod": (
        ct.target.iOS16,
        X,
        lambda x: _mb().reduce_prod(x=x, axes=[1, 3], keep_dims=True),
        lambda: X.prod(axis=(1, 3), keepdims=True),
    ),
    "reduce_log_sum": (
        ct.target.iOS16,
        POSITIVE,
        lambda x: _mb().reduce_log_sum(x=x, axes=[-1]),
        lambda: np.log(POSITIVE.sum(axis=-1)),
    ),
    "reduce_log_sum_exp": (
        ct.target.iOS16,
        X,
        lambda x: _mb().reduce_log_sum_exp(x=x, axes=[2]),
        lambda: torch.logsumexp(t(X), 2).numpy(),
    ),
    "scatter_add": (
        ct.target.iOS16,
        X,
        lambda x: _mb().scatter(
            data=x, indices=IDX, updates=np.ones((1, 2, 3, 6), np.float32), axis=2, mode="add"
        ),
        lambda: t(X).index_add(2, t(IDX).long(), torch.ones(1, 2, 3, 6)).numpy(),
    ),
    "scatter_along_axis_update": (
        ct.target.iOS16,
        X,
        lambda x: _mb().scatter_along_axis(
            data=x,
            indices=np.zeros((1, 2, 4, 1), np.int32) + 5,
            updates=np.full((1, 2, 4, 1), 9.0, np.float32),
            axis=3,
            mode="update",
        ),
        lambda: np.concatenate([X[..., :5], np.full((1, 2, 4, 1), 9.0, np.float32)], -1),
    ),
    "scatter_nd_max": (
        ct.target.iOS16,
        X,
        lambda x: _mb().scatter_nd(
            data=x,
            indices=np.array([[0, 1], [0, 0], [0, 1]], np.int32),
            updates=np.full((3, 4, 6), 0.5, np.float32),
            mode="max",
        ),
        lambda: np.maximum(X, np.full_like(X, 0.5)),
    ),
    "gather_nd": (
        ct.target.iOS16,
        X,
        lambda x: _mb().gather_nd(x=x, indices=np.array([[0, 1, 3], [0, 0, 1]], np.int32)),
        lambda: np.stack([X[0, 1, 3], X[0, 0, 1]]),
    ),
    "one_hot": (
        ct.target.iOS16,
        X,
        lambda x: _mb().add(
            x=_mb().reduce_sum(x=x, axes=[1, 2, 3], keep_dims=False),
            y=_mb().one_hot(
                indices=np.array([1, 0, 3], np.int32),
                one_hot_vector_size=4,
                axis=0,
                on_value=np.float32(2.0),
                off_value=np.float32(-1.0),
            ),
        ),
        lambda: X.sum(axis=(1, 2, 3)) + 3 * F.one_hot(torch.tensor([1, 0, 3]), 4).T.numpy() - 1,
    ),
    "band_part": (
        ct.target.iOS16,
        X,
        lambda x: _mb().band_part(x=x, lower=1, upper=2),
        lambda: (t(X).triu(-1).tril(2)).numpy(),
    ),
    "depth_to_space": (
        ct.target.iOS16,
        np.tile(X, (1, 2, 1, 1)),
        lambda x: _mb().depth_to_space(x=x, block_size=2),
        lambda: (
            t(np.tile(X, (1, 2, 1, 1)))
            .reshape(1, 2, 2, 1, 4, 6)
            .permute(0, 3, 4, 1, 5, 2)
            .reshape(1, 1, 8, 12)
            .numpy()
        ),
    ),
    "space_to_depth_inverts_depth_to_space": (
        ct.target.iOS16,
        X,
        lambda x: _mb().depth_to_space(x=_mb().space_to_depth(x=x, block_size=2), block_size=2),
        lambda: X,
    ),
    "reverse": (
        ct.target.iOS16,
        X,
        lambda x: _mb().reverse(x=x, axes=[1, -1]),
        lambda: X[:, ::-1, :, ::-1],
    ),
    "flatten2d": (
        ct.target.iOS16,
        X,
        lambda x: _mb().flatten2d(x=x, axis=2),
        lambda: X.reshape(2, 24),
    ),
    "cast_round_trip_to_int32": (
        ct.target.iOS16,
        X,
        lambda x: _mb().cast(x=_mb().cast(x=_mb().mul(x=x, y=3.0), dtype="int32"), dtype="fp32"),
        lambda: np.trunc(X * 3),
    ),
    "scaled_dot_product_attention_with_bool_mask": (
        ct.target.iOS18,
        X,
        lambda x: _mb().scaled_dot_product_attention(
            query=x, key=x, value=x, attn_mask=np.tril(np.ones((4, 4), bool))
        ),
        lambda: F.scaled_dot_product_attention(
            t(X), t(X), t(X), attn_mask=torch.ones(4, 4, dtype=torch.bool).tril()
        ).numpy(),
    ),
    "slice_update": (
        ct.target.iOS18,
        X,
        lambda x: _mb().slice_update(
            x=x,
            update=np.zeros((1, 2, 2, 3), np.float32),
            begin=np.array([0, 0, 1, 0], np.int32),
            end=np.array([1, 2, 3, 6], np.int32),
            stride=np.array([1, 1, 1, 2], np.int32),
        ),
        lambda: _zeroed(X),
    ),
    "quantize_dequantize": (
        ct.target.iOS17,
        X,
        lambda x: _mb().dequantize(
            input=_mb().quantize(input=x, scale=np.float32(0.05), output_dtype="int8"),
            scale=np.float32(0.05),
        ),
        lambda: np.clip(np.round(X / np.float32(0.05)), -128, 127) * np.float32(0.05),
    ),
}


def _zeroed(x: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    y = x.copy()
    y[:, :, 1:3, 0:6:2] = 0
    return y


@pytest.mark.parametrize("case", CASES)
def test_mil_op_matches_its_reference(case: str) -> None:
    target, x, build, reference = CASES[case]
    (out,) = run_mil(target, x, build)
    assert relative_l2(out, np.asarray(reference(), np.float64)) <= 1e-5
