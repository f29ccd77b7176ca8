"""Normalisations: batch, instance, layer, L2 and local response norm (``normalization.py``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from coreml_emulator.kernels import OpArgs, Tensor, kernel


def _per_channel(t: Tensor | None, rank: int) -> Tensor | None:
    return None if t is None else t.reshape((1, -1) + (1,) * (rank - 2))


@kernel("batch_norm")
def batch_norm(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    mean = args.tensor("mean")
    variance = args.tensor("variance")
    gamma = args.optional_tensor("gamma")
    beta = args.optional_tensor("beta")
    eps = args.float("epsilon", 1e-5)
    if x.dim() >= 2:
        return F.batch_norm(x, mean, variance, gamma, beta, False, 0.0, eps)
    raise ValueError("batch_norm needs rank >= 2")


@kernel("instance_norm")
def instance_norm(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    eps = args.float("epsilon", 1e-5)
    dims = tuple(range(2, x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps)
    gamma = _per_channel(args.optional_tensor("gamma"), x.dim())
    beta = _per_channel(args.optional_tensor("beta"), x.dim())
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


@kernel("layer_norm")
def layer_norm(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    rank = x.dim()
    axes_value = args.value("axes")
    axes = sorted({a % rank for a in (range(rank) if axes_value is None else args.ints("axes"))})
    eps = args.float("epsilon", 1e-5)
    gamma = args.optional_tensor("gamma")
    beta = args.optional_tensor("beta")
    if axes == list(range(rank - len(axes), rank)):  # trailing axes: torch's fused kernel
        shape = tuple(x.shape[rank - len(axes) :])
        g = None if gamma is None else gamma.reshape(shape)
        b = None if beta is None else beta.reshape(shape)
        return F.layer_norm(x, shape, g, b, eps)
    mean = x.mean(dim=axes, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps)
    norm_shape = [x.shape[i] if i in axes else 1 for i in range(rank)]
    if gamma is not None:
        y = y * gamma.reshape(norm_shape)
    if beta is not None:
        y = y + beta.reshape(norm_shape)
    return y


@kernel("l2_norm")
def l2_norm(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    eps = args.float("epsilon", 1e-6)
    batch = x.dim() - 3 if x.dim() >= 3 else 0
    flat = x.reshape(*x.shape[:batch], -1) if batch else x.reshape(-1)
    square_sum = (flat * flat).sum(dim=-1, keepdim=True)
    return (flat / torch.sqrt(square_sum + eps)).reshape(x.shape)


@kernel("local_response_norm")
def local_response_norm(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    size = args.int("size")
    alpha = args.float("alpha", 1e-4)
    beta = args.float("beta", 0.75)
    k = args.float("k", 1.0)
    return F.local_response_norm(x, size, alpha=alpha, beta=beta, k=k)
