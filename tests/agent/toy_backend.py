"""A backend that exists only in the tests: what a new backend is (a module defining
``BACKEND``), used to show that one line in ``agent.devices.REGISTERED`` is all it takes."""

from __future__ import annotations

from agent.backend import Backend, ServeRequest
from agent.device import Device
from agent.devices.emulated.device import EmulatedDevice
from agent.discovery import DeviceSource, fixed_source


def serve(request: ServeRequest) -> DeviceSource:
    return fixed_source(EmulatedDevice(100 + request.first + i) for i in range(request.count))


def local_device(device_id: str) -> Device | None:
    return EmulatedDevice(100) if device_id == "toy" else None


BACKEND = Backend(
    kind="toy",
    summary="emulated devices numbered from 100",
    serve=serve,
    local_device=local_device,
    local_ids=lambda: "toy",
)
