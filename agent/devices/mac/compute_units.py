"""Pomar compute units to coremltools ``ComputeUnit`` names, validated both ways."""

from __future__ import annotations

from pomar_core.errors import UsageError
from pomar_core.wire import ComputeUnit

COREMLTOOLS_NAMES: dict[ComputeUnit, str] = {
    ComputeUnit.CPU: "CPU_ONLY",
    ComputeUnit.GPU: "CPU_AND_GPU",
    ComputeUnit.ANE: "CPU_AND_NE",
    ComputeUnit.ALL: "ALL",
}
"""The same mapping as the app's ``MLComputeUnits`` switch: never a silent fall back to ALL."""


def coremltools_name(unit: ComputeUnit | str) -> str:
    """The ``coremltools.ComputeUnit`` member name for ``unit``; refuses anything unknown."""
    try:
        return COREMLTOOLS_NAMES[ComputeUnit(unit)]
    except (ValueError, KeyError):
        known = ", ".join(u.value for u in ComputeUnit)
        raise UsageError(f"unknown compute unit {unit!r}", hint=f"use one of {known}") from None


def mac_compute_units(*, apple_silicon: bool) -> tuple[ComputeUnit, ...]:
    """What a Mac can be asked for: the Neural Engine only exists on Apple silicon."""
    if apple_silicon:
        return (ComputeUnit.CPU, ComputeUnit.GPU, ComputeUnit.ANE, ComputeUnit.ALL)
    return (ComputeUnit.CPU, ComputeUnit.GPU, ComputeUnit.ALL)
