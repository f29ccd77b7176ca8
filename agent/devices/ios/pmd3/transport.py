"""All iPhones attached to this host, through usbmuxd."""

from __future__ import annotations

import time
from collections.abc import Iterator

from pymobiledevice3 import usbmux

from agent.devices.ios.config import IosConfig
from agent.devices.ios.pmd3.connection import guarded
from agent.devices.ios.pmd3.loop import LoopThread
from agent.devices.ios.pmd3.session import Pmd3Session
from agent.devices.ios.transport import DeviceEvent, DeviceEventKind, DeviceRef
from pomar_core.errors import TransientDeviceError


class Pmd3Transport:
    """A ``DeviceTransport`` over usbmuxd (``USBMUXD_SOCKET_ADDRESS`` is honoured)."""

    def __init__(self, config: IosConfig | None = None, *, poll_interval_s: float = 1.0) -> None:
        self.config = config or IosConfig()
        self.poll_interval_s = poll_interval_s
        self._loop: LoopThread | None = None

    def _run_loop(self) -> LoopThread:
        if self._loop is None:
            self._loop = LoopThread("pmd3-usbmux")
        return self._loop

    def list_devices(self) -> list[DeviceRef]:
        """Attached iPhones, one entry per UDID (USB preferred over Wi-Fi)."""

        async def go() -> list[usbmux.MuxDevice]:
            devices: list[usbmux.MuxDevice] = await usbmux.list_devices()
            return devices

        try:
            devices = self._run_loop().run(guarded(go, None, "listing usbmux devices"), 10)
        except TimeoutError as exc:
            raise TransientDeviceError("usbmuxd did not answer within 10 s") from exc
        by_udid: dict[str, DeviceRef] = {}
        for device in devices:
            udid = device.serial
            if udid not in by_udid or device.is_usb:
                by_udid[udid] = DeviceRef(udid, device.connection_type)
        return sorted(by_udid.values(), key=lambda ref: ref.udid)

    def watch(self) -> Iterator[DeviceEvent]:
        """Attach/detach events, by diffing the usbmux listing (pymobiledevice3's own
        ``wait_for_device_detach`` polls the same way; its listen stream does not say which
        device changed)."""
        present: dict[str, DeviceRef] = {}
        while True:
            now = {ref.udid: ref for ref in self.list_devices()}
            for udid in sorted(now.keys() - present.keys()):
                yield DeviceEvent(DeviceEventKind.ATTACHED, now[udid])
            for udid in sorted(present.keys() - now.keys()):
                yield DeviceEvent(DeviceEventKind.DETACHED, present[udid])
            present = now
            time.sleep(self.poll_interval_s)

    def open(self, udid: str) -> Pmd3Session:
        return Pmd3Session.open(udid, self.config)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.close()
            self._loop = None
