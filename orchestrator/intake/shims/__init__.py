"""Converter shims: composite-op registrations for torch ops coremltools 9.0 cannot convert.

Real models hit ops the TorchScript front end of coremltools 9.0 lacks, or converts only for some
dtypes — the masking code of current Hugging Face ``transformers`` (``new_ones``, ``diff``, ``&``
and ``|`` on integer masks) stops BERT, GPT-2, Llama and T5 cold. Each shim here rebuilds one such
op from MIL ops that coremltools has, and is checked against torch through the emulator on random
inputs (``tests/orchestrator/intake/test_shims.py``).

Pomar applies shims only when the plain conversion fails (:func:`applied` registers them for the
retry and removes them afterwards, so coremltools is left as it was), records the shims a
conversion actually used, and every report names them. ``--no-shims`` turns them off.

Adding a shim
=============

Write a conversion function in a module of this package (one family per module) and declare it
in :data:`SHIMS` with the torch op names it handles::

    def _new_ones(context, node):                       # coremltools' (context, node) signature
        ...
        context.add(result, node.name)

    Shim("new_ones", ("new_ones",), _new_ones, "tensor.new_ones(size, dtype=...)")

A shim for an op coremltools already registers *replaces* coremltools' function while applied
(only do that when coremltools' version is known to fail on real models, and say so in ``why``).
Then add a case to the shim tests comparing the converted program with torch.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from orchestrator.intake.shims import creation, logical, sequences


@dataclass(frozen=True)
class Shim:
    """One composite-op registration."""

    name: str
    torch_ops: tuple[str, ...]
    """Canonical coremltools op names (lower case, no ``aten::``, no ``__``)."""
    convert: Callable[[Any, Any], None]
    why: str


SHIMS: tuple[Shim, ...] = (
    Shim("new_ones", ("new_ones",), creation.new_ones, "coremltools 9.0 has no new_ones"),
    Shim(
        "new_zeros",
        ("new_zeros", "new_empty"),
        creation.new_zeros,
        "coremltools 9.0's new_zeros always makes fp32 zeros, ignoring dtype and self's dtype",
    ),
    Shim("diff", ("diff",), sequences.diff, "coremltools 9.0 has no diff"),
    Shim(
        "and",
        ("and", "bitwise_and"),
        logical.bitwise_and,
        "coremltools 9.0 converts & only on bool tensors; masks are often integer",
    ),
    Shim(
        "or",
        ("or", "bitwise_or"),
        logical.bitwise_or,
        "coremltools 9.0 converts | only on bool tensors; masks are often integer",
    ),
)
"""Every shim Pomar ships, in the order they are listed in reports."""


@dataclass
class ShimUse:
    """The shims a conversion called (filled while :func:`applied` is active)."""

    used: list[str] = field(default_factory=list)

    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in SHIMS if s.name in self.used)


@contextlib.contextmanager
def applied(shims: tuple[Shim, ...] = SHIMS) -> Iterator[ShimUse]:
    """Register ``shims`` with coremltools' torch front end for the duration of the block."""
    from coremltools.converters.mil.frontend.torch.torch_op_registry import _TORCH_OPS_REGISTRY

    mapping: dict[str, Any] = _TORCH_OPS_REGISTRY.name_to_func_mapping
    use = ShimUse()
    saved: dict[str, Any] = {}
    try:
        for shim in shims:
            recorder = _recording(shim, use)
            for op in shim.torch_ops:
                saved[op] = mapping.get(op)
                mapping[op] = recorder
        yield use
    finally:
        for op, previous in saved.items():
            if previous is None:
                mapping.pop(op, None)
            else:
                mapping[op] = previous


def _recording(shim: Shim, use: ShimUse) -> Callable[[Any, Any], None]:
    def convert(context: Any, node: Any) -> None:
        if shim.name not in use.used:
            use.used.append(shim.name)
        shim.convert(context, node)

    convert.__name__ = shim.torch_ops[0]
    return convert
