"""A model that is fine in fp32 but overflows half precision on purpose.

The largest finite float16 is 65504. This model scales its input up by 300 and sums squares
over 64 features, so the intermediate energy is around 64 * 300**2 / 3 ~ 2e6: finite in fp32,
``inf`` in fp16. The final normalisation then turns that ``inf`` into ``nan`` and 0. Run it on a
device or the emulator in fp16 and the parity check fails with NaN/Inf counts in the report.
"""

from __future__ import annotations

import torch
from torch import nn


class EnergyNormalizer(nn.Module):
    """Project, scale up, and divide by the root of the energy (a hand-rolled RMS norm)."""

    def __init__(self, dim: int = 64, scale: float = 300.0) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, dim)
        self.scale = scale

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.proj(features) * self.scale
        # Deliberately not a fused rms_norm: the sum of squares is the value that overflows.
        energy = torch.sum(x * x, dim=-1, keepdim=True)
        out: torch.Tensor = x / torch.sqrt(energy)
        return out


def build() -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    """The model with fixed weights and a 1x8x64 example input."""
    torch.manual_seed(0)
    model = EnergyNormalizer().eval()
    return model, (torch.rand(1, 8, 64),)
