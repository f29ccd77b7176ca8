"""linear, matmul, batched matmul, einsum and attention against torch."""

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
        self.linear = nn.Linear(8, 5)
        self.nobias = nn.Linear(8, 3, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return {
            "linear": lambda: self.linear(x),
            "linear_no_bias": lambda: self.nobias(x),
            "matmul": lambda: x @ y,
            "matmul_transposed": lambda: x @ x.transpose(-1, -2),
            "bmm_broadcast": lambda: x @ y[0],
            "einsum": lambda: torch.einsum("bij,bjk->bik", x, y),
            "sdpa": lambda: nn.functional.scaled_dot_product_attention(x, x, x),
            "sdpa_masked": lambda: nn.functional.scaled_dot_product_attention(
                x, x, x, attn_mask=torch.tril(torch.ones(6, 6, dtype=torch.bool))
            ),
        }[self.name]()


@pytest.mark.parametrize(
    "name",
    [
        "linear",
        "linear_no_bias",
        "matmul",
        "matmul_transposed",
        "bmm_broadcast",
        "einsum",
        "sdpa",
        "sdpa_masked",
    ],
)
def test_linear_algebra_matches_torch(name: str) -> None:
    check_module(Fn(name), torch.randn(2, 6, 8), torch.randn(2, 8, 4))


def test_attention_op_of_ios18_matches_torch() -> None:
    import coremltools as ct

    check_module(
        Fn("sdpa_masked"), torch.randn(2, 6, 8), torch.randn(2, 8, 4), target=ct.target.iOS18
    )
