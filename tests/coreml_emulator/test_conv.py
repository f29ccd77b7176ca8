"""Convolutions: grouped, depthwise, dilated, strided, padded; 1-D, 2-D, 3-D; transposed."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.coreml_emulator.conftest import check_module

torch.manual_seed(0)

CASES = {
    "plain_3x3": (nn.Conv2d(3, 4, 3), (1, 3, 9, 9)),
    "padded_strided": (nn.Conv2d(3, 4, 3, stride=2, padding=1), (1, 3, 9, 9)),
    "grouped": (nn.Conv2d(4, 6, 3, groups=2, padding=1), (1, 4, 8, 8)),
    "depthwise": (nn.Conv2d(4, 4, 3, groups=4, padding=1), (2, 4, 8, 8)),
    "dilated": (nn.Conv2d(3, 4, 3, dilation=2, padding=2), (1, 3, 12, 12)),
    "padding_same": (nn.Conv2d(3, 4, (3, 4), padding="same"), (1, 3, 8, 7)),
    "rectangular_no_bias": (nn.Conv2d(3, 4, (1, 3), padding=(0, 2), bias=False), (1, 3, 6, 6)),
    "conv1d": (nn.Conv1d(3, 5, 5, padding=2, stride=2), (1, 3, 17)),
    "conv3d": (nn.Conv3d(2, 3, 3, padding=1), (1, 2, 5, 6, 6)),
    "transpose2d": (nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1), (1, 4, 5, 5)),
    "transpose2d_output_padding": (
        nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1, output_padding=1),
        (1, 4, 5, 5),
    ),
    "transpose1d_grouped": (nn.ConvTranspose1d(4, 4, 3, stride=2, groups=2), (1, 4, 7)),
}


@pytest.mark.parametrize("case", CASES)
def test_convolution_matches_torch(case: str) -> None:
    module, shape = CASES[case]
    check_module(module, torch.randn(*shape))


class AsymmetricPad(nn.Module):
    """F.pad before a conv converts to an explicit pad op followed by a valid conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(nn.functional.pad(x, (0, 1, 2, 0)))


def test_asymmetric_padding_matches_torch() -> None:
    check_module(AsymmetricPad(), torch.randn(1, 2, 6, 6))
