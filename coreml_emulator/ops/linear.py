"""``linear``, ``matmul`` and ``einsum`` (``defs/iOS15/linear.py``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from coreml_emulator.kernels import OpArgs, Tensor, kernel


@kernel("linear")
def linear(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    weight = args.tensor("weight")
    bias = args.optional_tensor("bias")
    return F.linear(x, weight, bias)


@kernel("matmul")
def matmul(args: OpArgs) -> Tensor:
    x, y = args.tensor("x"), args.tensor("y")
    if args.bool("transpose_x", False):
        x = x.transpose(-1, -2) if x.dim() > 1 else x
    if args.bool("transpose_y", False):
        y = y.transpose(-1, -2) if y.dim() > 1 else y
    return torch.matmul(x, y)


@kernel("einsum")
def einsum(args: OpArgs) -> Tensor:
    return torch.einsum(args.str("equation"), *args.tensors("values"))
