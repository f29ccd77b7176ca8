"""The emulated backend: ``emulated-<N>`` devices, any number, on any host."""

from __future__ import annotations

from agent.backend import Backend, ServeRequest
from agent.device import Device
from agent.devices.emulated.device import EmulatedDevice
from agent.discovery import DeviceSource, fixed_source

ALIASES = ("emulated", "emulator")
"""Ids that mean ``emulated-0``."""


def serve(request: ServeRequest) -> DeviceSource:
    """``count`` emulated devices ``emulated-<first>`` … (give each agent its own range)."""
    return fixed_source(EmulatedDevice(request.first + i) for i in range(request.count))


def local_device(device_id: str) -> Device | None:
    name = "emulated-0" if device_id in ALIASES else device_id
    index = name.removeprefix("emulated-")
    if name.startswith("emulated-") and index.isdigit():
        return EmulatedDevice(int(index))
    return None


BACKEND = Backend(
    kind="emulated",
    summary="the Core ML program run on the CPU by coreml_emulator",
    serve=serve,
    local_device=local_device,
    local_ids=lambda: "emulated-N",
)
