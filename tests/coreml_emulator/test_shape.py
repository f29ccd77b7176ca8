"""Layout, slicing, gathering, padding, resizing and sorting ops against torch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.coreml_emulator.conftest import check_module

torch.manual_seed(0)


class Fn(nn.Module):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = nn.functional
        return {
            "reshape_transpose": lambda: x.reshape(2, 3, 4, 5).permute(0, 2, 3, 1).reshape(2, -1),
            "concat_split": lambda: torch.cat(torch.split(x, [1, 2], dim=1)[::-1], dim=1),
            "chunk_stack": lambda: torch.stack(torch.chunk(x, 3, dim=1), dim=0).sum(0),
            "slice_strided": lambda: x[:, 1:, ::2, 1:-1],
            "slice_negative_step": lambda: torch.flip(x, [2])[:, :, :3],
            "select_index": lambda: x[:, 1] * 2 + x[:, 2, 1:2],
            "squeeze_unsqueeze": lambda: x[:, :1].squeeze(1).unsqueeze(-1).expand(2, 4, 5, 3),
            "flatten": lambda: torch.flatten(x, 1),
            "tile_repeat": lambda: x.repeat(1, 2, 1, 1),
            "pad_constant": lambda: f.pad(x, (1, 2, 0, 1), value=0.5),
            "pad_reflect": lambda: f.pad(x, (1, 1, 2, 0), mode="reflect"),
            "pad_replicate": lambda: f.pad(x, (2, 1, 1, 1), mode="replicate"),
            "gather_index_select": lambda: torch.index_select(x, 3, torch.tensor([4, 0, 2])),
            "gather_along_axis": lambda: torch.gather(x, 3, (x.abs() * 4).long().clamp(0, 4)),
            "pixel_shuffle": lambda: f.pixel_shuffle(x[:, :, :4, :4].repeat(1, 4, 1, 1), 2),
            "pixel_unshuffle": lambda: f.pixel_unshuffle(x[:, :, :4, :4], 2),
            "upsample_nearest": lambda: f.interpolate(x, scale_factor=2, mode="nearest"),
            "upsample_bilinear": lambda: f.interpolate(x, scale_factor=2, mode="bilinear"),
            "upsample_bilinear_aligned": lambda: f.interpolate(
                x, size=(7, 9), mode="bilinear", align_corners=True
            ),
            "cumsum": lambda: torch.cumsum(x, dim=2),
            "topk": lambda: torch.topk(x, 2, dim=-1).values,
            "sort": lambda: torch.sort(x, dim=-1, descending=True).values,
            "argmax": lambda: torch.argmax(x, dim=1).float(),
            "masked_fill": lambda: x.masked_fill(x > 0.5, -1.0),
            "arange_add": lambda: x + torch.arange(5, dtype=torch.float32),
            "zeros_like_fill": lambda: torch.ones_like(x) * 3 + x,
        }[self.name]()


NAMES = [
    "reshape_transpose",
    "concat_split",
    "chunk_stack",
    "slice_strided",
    "slice_negative_step",
    "select_index",
    "squeeze_unsqueeze",
    "flatten",
    "tile_repeat",
    "pad_constant",
    "pad_reflect",
    "pad_replicate",
    "gather_index_select",
    "pixel_shuffle",
    "pixel_unshuffle",
    "upsample_nearest",
    "upsample_bilinear",
    "upsample_bilinear_aligned",
    "cumsum",
    "topk",
    "sort",
    "masked_fill",
    "arange_add",
    "zeros_like_fill",
]


@pytest.mark.parametrize("name", NAMES)
def test_layout_op_matches_torch(name: str) -> None:
    check_module(Fn(name), torch.randn(2, 3, 4, 5))


@pytest.mark.parametrize("name", ["gather_along_axis", "argmax"])
def test_index_producing_op_matches_torch_in_fp32(name: str) -> None:
    check_module(Fn(name), torch.randn(2, 3, 4, 5), fp16=False)


class Embedding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Embedding(10, 6)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.table(ids)


def test_embedding_lookup_with_integer_input_matches_torch() -> None:
    check_module(Embedding(), torch.tensor([[1, 4, 9, 0]], dtype=torch.int32))
