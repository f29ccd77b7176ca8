"""The fake-iPhone backend: ``count`` scripted fake iPhones (``pomar agent --fake-ios N``)."""

from __future__ import annotations

from agent.backend import Backend, ServeRequest
from agent.devices.ios.fake.fleet import fake_ios_devices
from agent.discovery import DeviceSource, fixed_source


def serve(request: ServeRequest) -> DeviceSource:
    return fixed_source(fake_ios_devices(request.count))


BACKEND = Backend(
    kind="fake-ios", summary="scripted fake iPhones running the emulator", serve=serve
)
