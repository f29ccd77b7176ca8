"""Activations (``coremltools/.../defs/iOS15/activation.py``, iOS17 variants)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from coreml_emulator.kernels import OpArgs, Tensor, kernel


@kernel("relu")
def relu(args: OpArgs) -> Tensor:
    return torch.relu(args.tensor("x"))


@kernel("relu6")
def relu6(args: OpArgs) -> Tensor:
    return torch.clamp(args.tensor("x"), 0.0, 6.0)


@kernel("sigmoid")
def sigmoid(args: OpArgs) -> Tensor:
    return torch.sigmoid(args.tensor("x"))


@kernel("tanh")
def tanh(args: OpArgs) -> Tensor:
    return torch.tanh(args.tensor("x"))


@kernel("silu")
def silu(args: OpArgs) -> Tensor:
    return F.silu(args.tensor("x"))


@kernel("gelu")
def gelu(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    mode = args.str("mode", "EXACT")
    if mode == "TANH_APPROXIMATION":
        return F.gelu(x, approximate="tanh")
    if mode == "SIGMOID_APPROXIMATION":
        return x * torch.sigmoid(1.702 * x)
    return F.gelu(x)


@kernel("softmax")
def softmax(args: OpArgs) -> Tensor:
    return torch.softmax(args.tensor("x"), dim=args.int("axis", -1))


@kernel("softplus")
def softplus(args: OpArgs) -> Tensor:
    return F.softplus(args.tensor("x"))


@kernel("softsign")
def softsign(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    return x / (1 + x.abs())


@kernel("elu")
def elu(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    alpha = args.float("alpha", 1.0)
    return torch.where(x > 0, x, alpha * torch.expm1(x))


@kernel("leaky_relu")
def leaky_relu(args: OpArgs) -> Tensor:
    return F.leaky_relu(args.tensor("x"), args.float("alpha", 0.01))


@kernel("thresholded_relu")
def thresholded_relu(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    return torch.where(x >= args.float("alpha", 1.0), x, torch.zeros_like(x))


@kernel("clamped_relu")
def clamped_relu(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    alpha, beta = args.float("alpha"), args.float("beta")
    return torch.clamp(torch.where(x >= 0, x, alpha * x), max=beta)


@kernel("linear_activation")
def linear_activation(args: OpArgs) -> Tensor:
    return args.float("alpha") * args.tensor("x") + args.float("beta", 0.0)


@kernel("scaled_tanh")
def scaled_tanh(args: OpArgs) -> Tensor:
    return args.float("alpha", 1.0) * torch.tanh(args.float("beta", 1.0) * args.tensor("x"))


@kernel("sigmoid_hard")
def sigmoid_hard(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    return torch.clamp(args.float("alpha", 0.2) * x + args.float("beta", 0.5), 0.0, 1.0)


def _channel_param(args: OpArgs, name: str, x: Tensor) -> Tensor:
    """A per-channel (axis 1) parameter broadcast against ``x``."""
    p = args.tensor(name).to(x.dtype)
    return p.reshape((1, -1) + (1,) * (x.dim() - 2)) if x.dim() >= 2 else p


@kernel("prelu")
def prelu(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    alpha = _channel_param(args, "alpha", x)
    return torch.where(x > 0, x, alpha * x)


@kernel("softplus_parametric")
def softplus_parametric(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    alpha = _channel_param(args, "alpha", x)
    beta = _channel_param(args, "beta", x)
    return alpha * F.softplus(beta * x)


@kernel("erf")
def erf(args: OpArgs) -> Tensor:
    return torch.erf(args.tensor("x"))


_ = math
