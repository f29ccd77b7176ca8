"""Which device ``pomar selftest --device ID`` names: a local device (``emulated``, ``mac``),
``fake-ios`` (a healthy scripted iPhone that kills for memory at its model's limit, as a real
one does), or the UDID of an attached iPhone."""

from __future__ import annotations

from typing import Any

from agent.device import Device
from agent.devices.ios.backend import ios_source, open_usbmux_transport, require_usbmuxd
from agent.devices.ios.bundle import harness_config
from agent.devices.ios.fake import fake_ios_devices
from agent.local import local_devices
from pomar_core import catalog
from pomar_core.errors import SelectorError
from pomar_core.extras import require_extra

FAKE_ID = "fake-ios"
FAKE_PRODUCT_TYPE = "iPhone15,2"


def fake_selftest_iphone(**scenario: Any) -> Device:
    """A fake iPhone whose scenario makes memory behave as on a phone: the footprint grows with
    the program and jetsam kills above the product's app limit; ``scenario`` breaks it."""
    limit = catalog.app_memory_limit_bytes(FAKE_PRODUCT_TYPE)
    fields: dict[str, Any] = {"jetsam_limit_bytes": limit, "footprint_from_program": True}
    fields.update(scenario)
    return fake_ios_devices(1, **fields)[0]


def selftest_device(device_id: str) -> Device:
    """The device ``device_id`` names; a ``SelectorError`` saying what exists otherwise."""
    if device_id == FAKE_ID:
        require_extra("torch", "torch")  # the fake's app runs the emulator
        return fake_selftest_iphone()
    if device_id.startswith("emulated") or device_id == "mac":
        if device_id.startswith("emulated"):
            require_extra("torch", "torch")
        return local_devices([device_id])[0]
    require_extra("ios", "pymobiledevice3")
    return _attached_iphone(device_id)


def _attached_iphone(udid: str) -> Device:
    config = harness_config(None, None)
    transport = open_usbmux_transport(config)
    require_usbmuxd(transport)
    listed = ios_source(config, transport)()
    for device in listed:
        if device.info.udid == udid:
            return device
    found = ", ".join(d.info.udid for d in listed) or "none"
    raise SelectorError(
        f"no attached iPhone '{udid}' passes its device check (ready: {found})",
        hint="run `pomar devices --check` for what the phone misses, or use --device emulated",
    )
