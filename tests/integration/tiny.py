"""A tiny torch model for farm tests: converts in seconds, runs in milliseconds."""

from __future__ import annotations

from typing import Any


def build() -> tuple[Any, tuple[Any, ...]]:
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU()).eval()
    return module, (torch.randn(1, 8),)
