"""Elementwise unary, binary, comparison and logical ops (``elementwise_*.py`` in the defs)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from coreml_emulator.kernels import OpArgs, Tensor, kernel

_BINARY: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "real_div": torch.true_divide,
    "floor_div": torch.floor_divide,
    "mod": torch.remainder,
    "pow": torch.pow,
    "maximum": torch.maximum,
    "minimum": torch.minimum,
    "equal": torch.eq,
    "not_equal": torch.ne,
    "less": torch.lt,
    "less_equal": torch.le,
    "greater": torch.gt,
    "greater_equal": torch.ge,
    "logical_and": torch.logical_and,
    "logical_or": torch.logical_or,
    "logical_xor": torch.logical_xor,
}


def _binary(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[[OpArgs], Tensor]:
    def run(args: OpArgs) -> Tensor:
        return fn(args.tensor("x"), args.tensor("y"))

    return run


for _name, _fn in _BINARY.items():
    kernel(_name)(_binary(_fn))


_UNARY: dict[str, Callable[[Tensor], Tensor]] = {
    "abs": torch.abs,
    "acos": torch.acos,
    "asin": torch.asin,
    "atan": torch.atan,
    "atanh": torch.atanh,
    "ceil": torch.ceil,
    "cos": torch.cos,
    "cosh": torch.cosh,
    "exp": torch.exp,
    "exp2": torch.exp2,
    "floor": torch.floor,
    "logical_not": torch.logical_not,
    "sign": torch.sign,
    "sin": torch.sin,
    "sinh": torch.sinh,
    "sqrt": torch.sqrt,
    "square": torch.square,
    "tan": torch.tan,
    # MIL round is round-half-away-from-zero (numpy's np.round is half-to-even; the spec text
    # says "nearest integer"): follow the value_inference, which calls np.round.
    "round": torch.round,
}


def _unary(fn: Callable[[Tensor], Tensor]) -> Callable[[OpArgs], Tensor]:
    def run(args: OpArgs) -> Tensor:
        return fn(args.tensor("x"))

    return run


for _name, _ufn in _UNARY.items():
    kernel(_name)(_unary(_ufn))


@kernel("clip")
def clip(args: OpArgs) -> Tensor:
    return torch.clamp(args.tensor("x"), args.float("alpha"), args.float("beta"))


@kernel("threshold")
def threshold(args: OpArgs) -> Tensor:
    return torch.clamp(args.tensor("x"), min=args.float("alpha"))


@kernel("inverse")
def inverse(args: OpArgs) -> Tensor:
    return 1.0 / (args.tensor("x") + args.float("epsilon", 1e-4))


@kernel("log")
def log(args: OpArgs) -> Tensor:
    return torch.log(args.tensor("x") + args.float("epsilon", 1e-45))


@kernel("rsqrt")
def rsqrt(args: OpArgs) -> Tensor:
    return torch.rsqrt(args.tensor("x") + args.float("epsilon", 1e-12))
