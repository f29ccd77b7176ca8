"""Devices: an iPhone on an agent, the host Mac, or the emulator."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pomar_core.wire.base import ComputeUnit, WireModel


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


def device_pools(info: DeviceInfo) -> tuple[str, ...]:
    """Every pool a device serves: its product type first, then its labels."""
    pools = [info.product_type, *info.pools]
    return tuple(dict.fromkeys(p for p in pools if p))


class DeviceState(StrEnum):
    IDLE = "idle"
    BUSY = "busy"
    LOST = "lost"
    QUARANTINED = "quarantined"


class Heartbeat(WireModel):
    """One device saying it is alive, and what it is doing. Crosses Redis as JSON."""

    info: DeviceInfo
    state: DeviceState
    agent: str
    at: datetime
    run_id: str | None = None
    last_run_id: str | None = None
    """The run this device finished last: its result is on its way to the coordinator."""
    detail: str | None = None
    """Why a ``quarantined`` device takes no runs (held back by its check, or quarantined)."""
