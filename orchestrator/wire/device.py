"""Devices: an iPhone on an agent, the host Mac, or the emulator."""

from __future__ import annotations

from enum import StrEnum

from orchestrator.wire.base import ComputeUnit, WireModel


class DeviceKind(StrEnum):
    IOS = "ios"
    MAC = "mac"
    EMULATED = "emulated"


class DeviceInfo(WireModel):
    """What a device is. Facts, not state: health and leases live elsewhere."""

    udid: str
    """Unique id: the iPhone's UDID, ``mac-<serial>``, or ``emulated-<n>``."""
    kind: DeviceKind
    product_type: str
    """``iPhone15,2``, ``Mac14,6``, ``Emulator``."""
    marketing_name: str
    chip: str | None = None
    ram_bytes: int | None = None
    os_version: str | None = None
    pools: tuple[str, ...] = ()
    """Pool names this device serves: its product type plus any labels."""
    compute_units: tuple[ComputeUnit, ...] = (ComputeUnit.CPU,)
    """Compute units the device can be asked for."""
    agent_host: str | None = None
