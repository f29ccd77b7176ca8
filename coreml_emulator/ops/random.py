"""Random ops: ``random_uniform``, ``random_normal``, ``random_bernoulli``, ``random_categorical``
(``random.py`` in the defs).

Core ML's random stream is its own: no emulator can reproduce its values, only their
distribution, which is what the MIL spec defines. A ``seed`` other than ``-1`` gives the same
values on every call (the spec's "reproducible sequence"); ``-1`` draws fresh values.
"""

from __future__ import annotations

import torch

from coreml_emulator.kernels import OpArgs, Tensor, kernel


def _generator(args: OpArgs) -> torch.Generator | None:
    seed = args.int("seed", -1)
    return None if seed == -1 else torch.Generator().manual_seed(seed)


def _shape(args: OpArgs) -> list[int]:
    return [int(d) for d in args.ints("shape")]


@kernel("random_uniform")
def random_uniform(args: OpArgs) -> Tensor:
    low, high = args.float("low", 0.0), args.float("high", 1.0)
    values = torch.rand(_shape(args), generator=_generator(args))
    return low + (high - low) * values


@kernel("random_normal")
def random_normal(args: OpArgs) -> Tensor:
    mean, stddev = args.float("mean", 0.0), args.float("stddev", 1.0)
    return mean + stddev * torch.randn(_shape(args), generator=_generator(args))


@kernel("random_bernoulli")
def random_bernoulli(args: OpArgs) -> Tensor:
    prob = args.float("prob", 0.5)
    draws = torch.rand(_shape(args), generator=_generator(args))
    return (draws < prob).to(torch.float32)


@kernel("random_categorical")
def random_categorical(args: OpArgs) -> Tensor:
    x = args.tensor("x").float()
    logits = x.log() if args.str("mode", "logits") == "probs" else x
    probs = torch.softmax(logits.reshape(-1, logits.shape[-1]), dim=-1)
    size = args.int("size", 1)
    drawn = torch.multinomial(probs, size, replacement=True, generator=_generator(args))
    return drawn.reshape(*x.shape[:-1], size).to(torch.float32)
