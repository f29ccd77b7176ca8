"""Reductions ``reduce_*`` and ``reduce_argmax``/``reduce_argmin`` (``reduction.py``)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from coreml_emulator.kernels import OpArgs, Tensor, kernel


def _axes(args: OpArgs, x: Tensor) -> list[int]:
    value = args.value("axes")
    if value is None:
        return list(range(x.dim()))
    return [a % x.dim() for a in args.ints("axes")] if x.dim() else []


def _amax(x: Tensor, dim: list[int], keepdim: bool) -> Tensor:
    return torch.amax(x, dim=dim, keepdim=keepdim) if dim else x


def _amin(x: Tensor, dim: list[int], keepdim: bool) -> Tensor:
    return torch.amin(x, dim=dim, keepdim=keepdim) if dim else x


_REDUCE: dict[str, Callable[[Tensor, list[int], bool], Tensor]] = {
    "reduce_sum": lambda x, d, k: torch.sum(x, dim=d, keepdim=k),
    "reduce_mean": lambda x, d, k: torch.mean(x, dim=d, keepdim=k),
    "reduce_prod": lambda x, d, k: _prod(x, d, k),
    "reduce_max": _amax,
    "reduce_min": _amin,
    "reduce_l1_norm": lambda x, d, k: torch.sum(x.abs(), dim=d, keepdim=k),
    "reduce_l2_norm": lambda x, d, k: torch.sqrt(torch.sum(x * x, dim=d, keepdim=k)),
    "reduce_sum_square": lambda x, d, k: torch.sum(x * x, dim=d, keepdim=k),
    "reduce_log_sum": lambda x, d, k: torch.log(torch.sum(x, dim=d, keepdim=k)),
    "reduce_log_sum_exp": lambda x, d, k: torch.logsumexp(x, dim=d, keepdim=k),
}


def _prod(x: Tensor, dims: list[int], keepdim: bool) -> Tensor:
    for dim in sorted(dims, reverse=True):
        x = torch.prod(x, dim=dim, keepdim=keepdim)
    return x


def _reduction(fn: Callable[[Tensor, list[int], bool], Tensor]) -> Callable[[OpArgs], Tensor]:
    def run(args: OpArgs) -> Tensor:
        x = args.tensor("x")
        return fn(x, _axes(args, x), args.bool("keep_dims", False))

    return run


for _name, _fn in _REDUCE.items():
    kernel(_name)(_reduction(_fn))


@kernel("reduce_argmax")
def reduce_argmax(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    return torch.argmax(x, dim=args.int("axis", -1), keepdim=args.bool("keep_dims", False))


@kernel("reduce_argmin")
def reduce_argmin(args: OpArgs) -> Tensor:
    x = args.tensor("x")
    return torch.argmin(x, dim=args.int("axis", -1), keepdim=args.bool("keep_dims", False))
