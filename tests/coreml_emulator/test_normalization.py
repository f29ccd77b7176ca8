"""Batch, instance, layer, group and RMS-style norms against torch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.coreml_emulator.conftest import check_module

torch.manual_seed(0)


def _batch_norm() -> nn.Module:
    bn = nn.BatchNorm2d(4)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)  # type: ignore[union-attr]
        bn.running_var.uniform_(0.5, 2)  # type: ignore[union-attr]
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    return bn


class RMSNorm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.rand(dim) + 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


class L2Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, dim=-1)


CASES = {
    "batch_norm": (_batch_norm, (2, 4, 5, 5)),
    "batch_norm_1d": (lambda: nn.BatchNorm1d(6).eval(), (3, 6, 7)),
    "instance_norm": (lambda: nn.InstanceNorm2d(4, affine=True), (2, 4, 5, 5)),
    "layer_norm": (lambda: nn.LayerNorm(8), (2, 3, 8)),
    "layer_norm_2d": (lambda: nn.LayerNorm([4, 8]), (2, 4, 8)),
    "group_norm": (lambda: nn.GroupNorm(2, 4), (2, 4, 5, 5)),
    "rms_norm": (lambda: RMSNorm(8), (2, 3, 8)),
    "l2_normalize": (L2Normalize, (2, 3, 8)),
    "local_response_norm": (lambda: nn.LocalResponseNorm(3), (1, 5, 4, 4)),
}


@pytest.mark.parametrize("case", CASES)
def test_normalization_matches_torch(case: str) -> None:
    make, shape = CASES[case]
    check_module(make(), torch.randn(*shape) * 2 + 0.5)
