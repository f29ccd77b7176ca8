"""The host-Mac backend: this Mac's Core ML, as the device ``mac`` (macOS only)."""

from __future__ import annotations

import sys

from agent.backend import Backend, ServeRequest
from agent.device import Device
from agent.devices.mac.device import MacDevice
from agent.discovery import DeviceSource, fixed_source

DEVICE_ID = "mac"


def serve(request: ServeRequest) -> DeviceSource:
    """This Mac. Raises ``DeviceNotReady`` with the reason on any other OS or without Core ML
    bindings."""
    device = MacDevice()
    device.check_ready()
    return fixed_source([device])


def local_device(device_id: str) -> Device | None:
    return MacDevice() if device_id == DEVICE_ID and sys.platform == "darwin" else None


BACKEND = Backend(
    kind="mac",
    summary="Core ML on this Mac through coremltools",
    serve=serve,
    local_device=local_device,
    local_ids=lambda: DEVICE_ID if sys.platform == "darwin" else None,
)
