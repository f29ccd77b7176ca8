"""Every kernel the emulator has: importing ``coreml_emulator.ops`` registers each family."""

from __future__ import annotations

from coreml_emulator import ops
from coreml_emulator.kernels import Kernel, registered

__all__ = ["lookup", "ops", "registered_op_types"]


def lookup(op_type: str) -> Kernel | None:
    """The kernel registered for ``op_type``, or ``None``."""
    return registered().get(op_type)


def registered_op_types() -> list[str]:
    """Every MIL op type with a kernel, sorted."""
    return sorted(registered())
