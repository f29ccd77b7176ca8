"""How the agent reaches iPhones: a :class:`DeviceTransport` lists attached iPhones and reports
attach/detach; a :class:`DeviceSession` is one open device offering every service in
``agent.devices.ios.services`` (status, apps, files, processes, sampling, reports).

The real implementation lives in ``agent.devices.ios.pmd3`` (pymobiledevice3, asyncio
underneath, one event loop per session thread); ``agent.devices.ios.fake`` is a scripted iPhone
with the same interface. Verbs are synchronous and raise only ``pomar_core.errors.DeviceError``
subclasses (with ``device_udid``): ``DeviceLost``, ``DeviceNotReady``, ``AppNotInstalled``,
``TransportUnavailable``, ``TransientDeviceError``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from agent.devices.ios.services.apps import AppInstaller
from agent.devices.ios.services.files import AppFiles
from agent.devices.ios.services.processes import AppProcesses
from agent.devices.ios.services.reports import DeviceReports
from agent.devices.ios.services.sampling import MemorySampling
from agent.devices.ios.services.status import FactsReader, ReadinessProbe


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


class DeviceSession(
    FactsReader,
    ReadinessProbe,
    AppInstaller,
    AppFiles,
    AppProcesses,
    MemorySampling,
    DeviceReports,
    Protocol,
):
    """One open iPhone: every service, and :meth:`close`."""

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
