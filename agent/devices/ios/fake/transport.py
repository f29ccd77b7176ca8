"""Fake iPhones attached to this host: a :class:`~agent.devices.ios.transport.DeviceTransport`."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from agent.devices.ios.fake.phone import FakeIPhone
from agent.devices.ios.fake.session import FakeSession
from agent.devices.ios.transport import DeviceEvent, DeviceEventKind, DeviceRef
from pomar_core.errors import DeviceLost


class FakeTransport:
    """Fake iPhones attached to this host; one whose ``connected`` is False is unplugged."""

    def __init__(self, devices: list[FakeIPhone]) -> None:
        self.devices = {d.udid: d for d in devices}
        self._closed = threading.Event()

    def list_devices(self) -> list[DeviceRef]:
        return [DeviceRef(u) for u, d in self.devices.items() if d.connected]

    def watch(self) -> Iterator[DeviceEvent]:
        """Attach/detach events by diffing the connected set, until :meth:`close`."""
        present: set[str] = set()
        while not self._closed.is_set():
            now = {r.udid for r in self.list_devices()}
            for udid in sorted(now - present):
                yield DeviceEvent(DeviceEventKind.ATTACHED, DeviceRef(udid))
            for udid in sorted(present - now):
                yield DeviceEvent(DeviceEventKind.DETACHED, DeviceRef(udid))
            present = now
            self._closed.wait(0.05)

    def open(self, udid: str) -> FakeSession:
        device = self.devices.get(udid)
        if device is None or not device.connected:
            raise DeviceLost(f"no iPhone {udid} is attached", device_udid=udid)
        return FakeSession(device)

    def close(self) -> None:
        self._closed.set()
