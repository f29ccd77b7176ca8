"""Reductions against torch."""

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
        return {
            "mean": lambda: x.mean(dim=(2, 3)),
            "mean_keepdim": lambda: x.mean(dim=-1, keepdim=True),
            "sum": lambda: x.sum(dim=1),
            "amax": lambda: x.amax(dim=(1, 3)),
            "amin": lambda: x.amin(dim=2),
            "norm": lambda: torch.linalg.vector_norm(x, dim=-1),
            "logsumexp": lambda: torch.logsumexp(x, dim=1),
            "var": lambda: x.var(dim=-1, unbiased=False),
        }[self.name]()


@pytest.mark.parametrize(
    "name", ["mean", "mean_keepdim", "sum", "amax", "amin", "norm", "logsumexp", "var"]
)
def test_reduction_matches_torch(name: str) -> None:
    check_module(Fn(name), torch.randn(2, 3, 4, 5))
