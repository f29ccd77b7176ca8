"""Whole small networks in the styles teams ship, through both converter front ends."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.agent.emulator.conftest import check_module, emulate_vs_torch

torch.manual_seed(0)


class MobileBlock(nn.Module):
    """Inverted residual: expand, depthwise, squeeze-excite, hard-swish, project."""

    def __init__(self) -> None:
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(8, 16, 1), nn.BatchNorm2d(16), nn.Hardswish())
        self.depthwise = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.Hardswish())
        self.se = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(16, 4, 1),
            nn.ReLU(),
            nn.Conv2d(4, 16, 1),
            nn.Hardsigmoid(),
        )
        self.project = nn.Conv2d(16, 8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.depthwise(self.expand(x))
        return x + self.project(y * self.se(y))


class UNetish(nn.Module):
    """Dilated convs, a strided downsample, bilinear upsampling and a skip concat."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.down = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.mid = nn.Sequential(nn.Conv2d(8, 8, 3, padding=2, dilation=2), nn.ReLU())
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.out = nn.Conv2d(16, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.enc(x)
        y = self.up(self.mid(self.down(skip)))
        return self.out(torch.cat([skip, y], dim=1))


class Bert(nn.Module):
    """A BERT-style encoder layer: multi-head attention with an additive padding mask."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5
        scores = scores + mask[:, None, None, :] * -1e4
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d)
        x = self.norm1(x + self.out(attended))
        return self.norm2(x + self.ffn(x))


def test_example_cnn_matches_torch() -> None:
    from examples.cnn import build

    module, (image,) = build()
    check_module(module, image)


def test_example_transformer_matches_torch() -> None:
    from examples.transformer import build

    module, (tokens,) = build()
    check_module(module, tokens)


@pytest.mark.parametrize("example", ["cnn", "transformer"])
def test_examples_match_torch_through_torch_export(example: str) -> None:
    import importlib

    module, inputs = importlib.import_module(f"examples.{example}").build()
    assert emulate_vs_torch(module, *inputs, frontend="export") <= 1e-5


def test_mobilenet_style_block_matches_torch() -> None:
    check_module(MobileBlock(), torch.randn(1, 8, 10, 10))


def test_unet_style_model_with_dilation_and_upsampling_matches_torch() -> None:
    check_module(UNetish(), torch.randn(1, 3, 16, 16))


def test_bert_style_encoder_with_padding_mask_matches_torch() -> None:
    mask = torch.zeros(2, 7)
    mask[1, 5:] = 1.0
    check_module(Bert(), torch.randn(2, 7, 32), mask, tol32=1e-4, tol16=5e-2)
