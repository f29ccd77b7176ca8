"""The small interface the agent drives iPhones through.

A :class:`DeviceTransport` lists attached iPhones and reports attach/detach; a
:class:`DeviceSession` is one open device with a handful of synchronous verbs. The real
implementation lives in ``agent.devices.ios.pmd3`` (pymobiledevice3, asyncio underneath, one
event loop per session thread); ``agent.devices.ios.fake`` is a scripted iPhone with the same
interface.

Every verb raises only ``pomar_core.errors.DeviceError`` subclasses (with ``device_udid``):
``DeviceLost``, ``DeviceNotReady``, ``AppNotInstalled``, ``TransportUnavailable``,
``TransientDeviceError``. Paths given to the file verbs are relative to the app's ``Documents``."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class DeviceRef:
    """An attached iPhone as usbmux lists it."""

    udid: str
    connection_type: str = "USB"
    """``USB`` or ``Network``."""


class DeviceEventKind(StrEnum):
    ATTACHED = "attached"
    DETACHED = "detached"


@dataclass(frozen=True)
class DeviceEvent:
    kind: DeviceEventKind
    device: DeviceRef


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


@dataclass(frozen=True)
class ProcSample:
    """One sysmontap sample of one process."""

    t_s: float
    """Seconds since sampling started (host monotonic clock)."""
    phys_footprint_bytes: int
    cpu_percent: float | None = None
    """Percent of one core; None for the first sample, which sysmontap gets wrong."""


@dataclass(frozen=True)
class CrashReportRef:
    """A file in the device's CrashReporter folder."""

    path: str
    modified: datetime | None = None


@dataclass(frozen=True)
class LogLine:
    pid: int
    message: str
    timestamp: datetime | None = None


class Sampler(Protocol):
    """Background sampling of one process, started by :meth:`DeviceSession.start_sampling`."""

    def stop(self) -> list[ProcSample]:
        """Stop and return every sample taken. Never raises for a vanished process."""
        ...


class LogStream(Protocol):
    def stop(self) -> list[LogLine]:
        """Stop streaming and return the lines seen (bounded, newest kept)."""
        ...


class DeviceSession(Protocol):
    """One open iPhone. Verbs are synchronous and raise only ``DeviceError`` subclasses."""

    @property
    def udid(self) -> str: ...

    def facts(self) -> DeviceFacts:
        """Identity, OS, developer mode, battery, free space."""
        ...

    def readiness(self, bundle_id: str) -> Readiness:
        """Probe trust, lock, developer mode, disk image, tunnel and the app, fixing what can be
        fixed without a human (mounting the developer disk image, opening a tunnel)."""
        ...

    def install_app_if_version_differs(self, app_path: Path, bundle_id: str, version: str) -> bool:
        """Install ``app_path`` (``.ipa`` or ``.app``) unless ``version`` is installed already.
        Returns True when it installed."""
        ...

    def write_files(self, bundle_id: str, files: Mapping[str, bytes]) -> int:
        """Write files (creating folders); returns the bytes transferred."""
        ...

    def push_tree(self, bundle_id: str, local: Path, remote: str) -> int:
        """Copy a local file or folder to exactly ``remote``; returns the bytes transferred."""
        ...

    def read_file(self, bundle_id: str, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        ...

    def list_dir(self, bundle_id: str, path: str) -> list[str]:
        """Entry names in a folder; empty when the folder does not exist."""
        ...

    def remove(self, bundle_id: str, path: str) -> None:
        """Remove a file or a folder tree; nothing happens when it does not exist."""
        ...

    def launch(self, bundle_id: str, arguments: list[str]) -> int:
        """Launch the app (killing a running instance) and return its pid."""
        ...

    def kill(self, pid: int) -> None: ...

    def is_running(self, pid: int) -> bool: ...

    def start_sampling(self, pid: int, interval_ms: int) -> Sampler: ...

    def crash_reports(self, since: datetime | None = None) -> list[CrashReportRef]:
        """Reports in the CrashReporter folder (flushed first), newer than ``since`` if given."""
        ...

    def read_crash_report(self, path: str) -> str: ...

    def stream_log(self, pid: int, on_line: Callable[[LogLine], None] | None = None) -> LogStream:
        """Stream the process's log lines in the background."""
        ...

    def close(self) -> None: ...


class DeviceTransport(Protocol):
    """All iPhones attached to this host."""

    def list_devices(self) -> list[DeviceRef]:
        """Attached devices; raises ``TransportUnavailable`` when usbmuxd is not reachable."""
        ...

    def watch(self) -> Iterator[DeviceEvent]:
        """Attach/detach events, starting with an ATTACHED event per device already present."""
        ...

    def open(self, udid: str) -> DeviceSession: ...


@dataclass
class BoundedLines:
    """The newest ``limit`` log lines, for error messages."""

    limit: int = 200
    lines: list[LogLine] = field(default_factory=list)

    def add(self, line: LogLine) -> None:
        self.lines.append(line)
        if len(self.lines) > self.limit:
            del self.lines[: len(self.lines) - self.limit]
