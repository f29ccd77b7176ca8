"""What a device is, and what stands between it and a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class DeviceFacts:
    """What a device is and the state that matters for timing it."""

    udid: str
    product_type: str
    ios_version: str
    marketing_name: str
    chip: str | None = None
    ram_bytes: int | None = None
    app_memory_limit_bytes: int | None = None
    device_name: str | None = None
    developer_mode: bool | None = None
    """None before iOS 16 (no such mode) or when the device would not say."""
    battery_level: float | None = None
    """0..1."""
    battery_temperature_c: float | None = None
    free_bytes: int | None = None
    low_power_mode: bool | None = None
    """None when the transport cannot tell (pymobiledevice3 cannot; the harness app reports it)."""
    thermal_state: str | None = None
    """``nominal|fair|serious|critical`` when known (same caveat)."""


@dataclass(frozen=True)
class Readiness:
    """What stands between this device and a run. Fields are None when not applicable."""

    paired: bool
    unlocked: bool | None
    developer_mode: bool | None
    disk_image_mounted: bool | None
    tunnel: bool | None
    """iOS 17+: a tunnel (tunneld or userspace) reaches the developer services."""
    app_version: str | None = None
    """The harness app's ``CFBundleShortVersionString``, None when not installed."""
    free_bytes: int | None = None
    notes: tuple[str, ...] = ()


class FactsReader(Protocol):
    """Who the device is, and its state now."""

    @property
    def udid(self) -> str: ...

    def facts(self) -> DeviceFacts:
        """Identity, OS, developer mode, battery, free space."""
        ...


class ReadinessProbe(Protocol):
    def readiness(self, bundle_id: str) -> Readiness:
        """Probe trust, lock, developer mode, disk image, tunnel and the app, fixing what can be
        fixed without a human (mounting the developer disk image, opening a tunnel)."""
        ...
