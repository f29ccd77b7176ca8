"""Tiny source models for intake tests: they convert in well under a second."""

from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(features))


class TwoHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.fc(features)
        return torch.relu(hidden), torch.sigmoid(hidden)


class UsesLgamma(nn.Module):
    """lgamma has no coremltools converter in either front end."""

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.lgamma(features.abs() + 1.0)


def build() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return TinyNet().eval(), (torch.rand(1, 8),)


def build_two_heads() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    torch.manual_seed(0)
    return TwoHeads().eval(), (torch.rand(1, 8),)


def build_unsupported() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    return UsesLgamma().eval(), (torch.rand(1, 8),)


def build_raises() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    raise RuntimeError("weights file not found: /nowhere/weights.pt")


def build_returns_none() -> None:
    return None


def build_returns_module_only() -> nn.Module:
    return TinyNet()


def build_returns_bad_inputs() -> tuple[nn.Module, str]:
    return TinyNet(), "not a tensor"


def build_returns_not_a_module() -> tuple[str, tuple[torch.Tensor, ...]]:
    return "model", (torch.rand(1, 8),)
