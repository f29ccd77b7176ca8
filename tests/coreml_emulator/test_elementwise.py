"""Elementwise arithmetic, math functions, comparisons and selection against torch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.coreml_emulator.conftest import check_module

torch.manual_seed(0)


class Binary(nn.Module):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return {
            "add": lambda: x + y,
            "sub": lambda: x - y,
            "mul": lambda: x * y,
            "div": lambda: x / (y.abs() + 0.5),
            "pow": lambda: x.abs() ** 1.5 + y,
            "maximum": lambda: torch.maximum(x, y),
            "minimum": lambda: torch.minimum(x, y),
            "where": lambda: torch.where(x > y, x, y * 2),
            "broadcast": lambda: x + y[:, :1] * 3.0,
            "floor_div": lambda: torch.floor_divide(x * 4, y.abs() + 1),
            "remainder": lambda: torch.remainder(x * 4, 1.5),
        }[self.name]()


@pytest.mark.parametrize(
    "name",
    ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "where", "broadcast"],
)
def test_binary_op_matches_torch(name: str) -> None:
    check_module(Binary(name), torch.randn(3, 8), torch.randn(3, 8))


@pytest.mark.parametrize("name", ["floor_div", "remainder"])
def test_rounding_binary_op_matches_torch_in_fp32(name: str) -> None:
    check_module(Binary(name), torch.randn(3, 8), torch.randn(3, 8), fp16=False)


class Unary(nn.Module):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return {
            "abs": lambda: x.abs(),
            "exp": lambda: torch.exp(x),
            "log": lambda: torch.log(x.abs() + 1),
            "sqrt": lambda: torch.sqrt(x.abs()),
            "rsqrt": lambda: torch.rsqrt(x.abs() + 1),
            "reciprocal": lambda: torch.reciprocal(x.abs() + 1),
            "sin_cos": lambda: torch.sin(x) + torch.cos(x),
            "erf": lambda: torch.erf(x),
            "clamp": lambda: torch.clamp(x, -0.5, 0.7),
            "square": lambda: x * x,
            "neg": lambda: -x,
            "atan": lambda: torch.atan(x),
            "floor_ceil": lambda: torch.floor(x * 3) + torch.ceil(x * 2),
            "sign": lambda: torch.sign(x),
        }[self.name]()


UNARY_FP16 = [
    "abs",
    "exp",
    "log",
    "sqrt",
    "rsqrt",
    "sin_cos",
    "erf",
    "clamp",
    "square",
    "neg",
    "atan",
]


@pytest.mark.parametrize("name", UNARY_FP16)
def test_unary_op_matches_torch(name: str) -> None:
    check_module(Unary(name), torch.randn(4, 7))


def test_reciprocal_keeps_the_converters_epsilon() -> None:
    # coremltools lowers reciprocal to inverse(x, epsilon=1e-4): Core ML computes 1/(x+1e-4),
    # and so does the emulator, so the error against torch is about 1e-4, not 1e-7.
    check_module(Unary("reciprocal"), torch.randn(4, 7), tol32=2e-4)


@pytest.mark.parametrize("name", ["floor_ceil", "sign"])
def test_discrete_unary_op_matches_torch_in_fp32(name: str) -> None:
    check_module(Unary(name), torch.randn(4, 7), fp16=False)


class Compare(nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        masks = [x > y, x >= y, x < y, x <= 0.0, x == x.round(), x != y]
        both = torch.logical_and(masks[0], masks[1])
        either = torch.logical_or(masks[2], torch.logical_not(masks[3]))
        odd = torch.logical_xor(masks[4], masks[5])
        return both.float() + 2 * either.float() + 4 * odd.float()


def test_comparisons_and_logic_match_torch() -> None:
    check_module(Compare(), torch.randn(5, 6), torch.randn(5, 6), fp16=False)
