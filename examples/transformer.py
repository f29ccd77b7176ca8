"""A small transformer encoder block: attention written with matmuls, softmax, layer norm, GELU."""

from __future__ import annotations

import math

import torch
from torch import nn


class EncoderBlock(nn.Module):
    """Pre-norm multi-head self-attention and an MLP, each with a residual connection."""

    def __init__(self, dim: int = 64, heads: int = 4, mlp_ratio: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim)
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, length, dim = tokens.shape
        qkv = self.qkv(self.norm1(tokens))
        qkv = qkv.reshape(batch, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        attended = torch.matmul(torch.softmax(scores, dim=-1), v)
        attended = attended.permute(0, 2, 1, 3).reshape(batch, length, dim)
        x = tokens + self.proj(attended)
        out: torch.Tensor = x + self.mlp(self.norm2(x))
        return out


def build() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The block with fixed weights and a 1x16x64 example sequence."""
    torch.manual_seed(0)
    model = EncoderBlock().eval()
    return model, (torch.randn(1, 16, 64),)
