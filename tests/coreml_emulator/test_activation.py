"""Activations and softmax-style ops against torch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.coreml_emulator.conftest import check_module

torch.manual_seed(0)


class Fn(nn.Module):
    def __init__(self, fn: object) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)  # type: ignore[operator, no-any-return]


CASES = {
    "relu": nn.ReLU(),
    "relu6": nn.ReLU6(),
    "sigmoid": nn.Sigmoid(),
    "tanh": nn.Tanh(),
    "gelu": nn.GELU(),
    "gelu_tanh": nn.GELU(approximate="tanh"),
    "silu": nn.SiLU(),
    "hardswish": nn.Hardswish(),
    "hardsigmoid": nn.Hardsigmoid(),
    "elu": nn.ELU(alpha=0.7),
    "leaky_relu": nn.LeakyReLU(0.1),
    "prelu": nn.PReLU(4, init=0.2),
    "softplus": nn.Softplus(),
    "softsign": nn.Softsign(),
    "mish": nn.Mish(),
    "softmax": nn.Softmax(dim=1),
    "log_softmax": nn.LogSoftmax(dim=-1),
    "hardtanh": nn.Hardtanh(-0.5, 0.5),
}


@pytest.mark.parametrize("case", CASES)
def test_activation_matches_torch(case: str) -> None:
    check_module(Fn(CASES[case]), torch.randn(2, 4, 5, 6) * 2)
