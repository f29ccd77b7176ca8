"""A model that is fine in fp32 but overflows half precision on purpose.

The largest finite float16 is 65504. This model scales a projection up by 1000 and computes
each feature's share of the energy, ``x**2 / sum(x**2)``. In fp32 the shares are finite and sum
to 1. In fp16 the squares of the larger features (|x| > 256) overflow to ``inf``, so does the
energy, and ``inf / inf`` is NaN while the other shares collapse to 0. Run it on a device or
the emulator in fp16 and the parity check fails with NaN counts in the report.
"""

from __future__ import annotations

import torch
from torch import nn


class EnergyShare(nn.Module):
    """Project, scale up, and divide each squared feature by the total (the energy)."""

    def __init__(self, dim: int = 64, scale: float = 1000.0) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.scale = scale

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.proj(features) * self.scale
        # Deliberately not rescaled by max|x| first: the squares are what overflow fp16.
        squares = x * x
        share: torch.Tensor = squares / torch.sum(squares, dim=-1, keepdim=True)
        return share


def build() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The model with fixed weights and a 1x8x64 example input."""
    torch.manual_seed(0)
    model = EnergyShare().eval()
    return model, (torch.rand(1, 8, 64),)
