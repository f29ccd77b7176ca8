"""Tiny torch models for localisation tests: a chain, a residual graph, an FP16 casualty."""

from __future__ import annotations

import torch
from torch import nn

CHAIN_LENGTH = 16


class Chain(nn.Module):
    """A linear layer, then ``CHAIN_LENGTH`` elementwise ops in a row (sin, cos, …): no two
    fuse, every op a cut. (The linear layer gives the package a weights file: the fake iPhone's
    file push, like AFC, carries files, not the empty weights folder of a weightless model.)"""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for i in range(CHAIN_LENGTH):
            x = torch.sin(x) * 1.5 if i % 2 else torch.cos(x) + 0.25
        return x


class Residual(nn.Module):
    """Two residual blocks, ``relu(linear(h) + h)``: branches, and add → relu fused on device."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(8, 8)
        self.block1 = nn.Linear(8, 8)
        self.block2 = nn.Linear(8, 8)
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.stem(x))
        h = torch.relu(self.block1(h) + h)
        h = torch.relu(self.block2(h) + h)
        return self.head(h)


class Cancellation(nn.Module):
    """``(x + 1000) - 1000``: in fp16 the small ``x`` is lost to rounding, on any engine."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.stem(x) * 0.01 + 1000.0) - 1000.0


def build_chain() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return Chain().eval(), (torch.randn(1, 8),)


def build_residual() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return Residual().eval(), (torch.randn(1, 8),)


def build_cancellation() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return Cancellation().eval(), (torch.randn(1, 8),)
