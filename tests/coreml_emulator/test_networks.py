"""Whole small networks in the styles teams ship, through both converter front ends."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.coreml_emulator.conftest import check_module, emulate_vs_torch

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


class ResNetish(nn.Module):
    """A stem, two basic residual blocks (one strided with a projection), pooling, a head."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
        )
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.block1 = self._block(8, 8, 1)
        self.block2 = self._block(8, 16, 2)
        self.project = nn.Sequential(nn.Conv2d(8, 16, 1, stride=2, bias=False), nn.BatchNorm2d(16))
        self.head = nn.Linear(16, 5)

    @staticmethod
    def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False),
            nn.BatchNorm2d(cout),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.stem(x))
        x = torch.relu(x + self.block1(x))
        x = torch.relu(self.project(x) + self.block2(x))
        return self.head(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class ViT(nn.Module):
    """Patch embedding, class token, position embedding, one pre-norm encoder layer (torch's
    fused attention), a head."""

    def __init__(self, dim: int = 32) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, stride=4)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.1)
        self.pos = nn.Parameter(torch.randn(1, 17, dim) * 0.1)
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(x.shape[0], -1, -1), tokens], dim=1) + self.pos
        b, n, d = tokens.shape
        q, k, v = self.qkv(self.norm1(tokens)).reshape(b, n, 3, 4, d // 4).permute(2, 0, 3, 1, 4)
        attended = nn.functional.scaled_dot_product_attention(q, k, v)
        tokens = tokens + self.out(attended.transpose(1, 2).reshape(b, n, d))
        tokens = tokens + self.mlp(self.norm2(tokens))
        return self.head(self.norm(tokens)[:, 0])


def _eval(module: nn.Module) -> nn.Module:
    # Non-trivial BatchNorm statistics, so a wrong norm kernel cannot hide behind identity ones.
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
    return module.eval()


def test_resnet_style_cnn_matches_torch() -> None:
    check_module(_eval(ResNetish()), torch.randn(1, 3, 32, 32))


def test_small_vit_matches_torch() -> None:
    check_module(ViT().eval(), torch.randn(1, 3, 16, 16), tol32=1e-4, tol16=5e-2)


@pytest.mark.parametrize("name", ["resnet", "vit"])
def test_networks_match_torch_through_torch_export(name: str) -> None:
    module = _eval(ResNetish()) if name == "resnet" else ViT().eval()
    example = torch.randn(1, 3, 32 if name == "resnet" else 16, 16 if name == "vit" else 32)
    assert emulate_vs_torch(module, example, frontend="export") <= 1e-4
