"""Pooling (max, average, adaptive/global, padded, ceil mode) against torch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.coreml_emulator.conftest import check_module

torch.manual_seed(0)

CASES = {
    "max_2x2": nn.MaxPool2d(2),
    "max_3x3_stride2_padded": nn.MaxPool2d(3, stride=2, padding=1),
    "max_ceil": nn.MaxPool2d(3, stride=2, ceil_mode=True),
    "avg_2x2": nn.AvgPool2d(2),
    "avg_padded_include": nn.AvgPool2d(3, stride=1, padding=1),
    "avg_padded_exclude": nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
    "avg_ceil": nn.AvgPool2d(2, stride=2, ceil_mode=True),
    "global_avg": nn.AdaptiveAvgPool2d(1),
    "global_max": nn.AdaptiveMaxPool2d(1),
    "adaptive_avg_2": nn.AdaptiveAvgPool2d(2),
}


@pytest.mark.parametrize("case", CASES)
def test_pooling_matches_torch(case: str) -> None:
    check_module(CASES[case], torch.randn(1, 3, 9, 9))


def test_pool1d_matches_torch() -> None:
    check_module(nn.Sequential(nn.MaxPool1d(2), nn.AvgPool1d(3, stride=1)), torch.randn(2, 3, 12))
