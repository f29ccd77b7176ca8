"""Test-only devices for agent subprocesses (``pomar agent --devices-from``).

``held()`` lists emulated devices configured by environment variables, each wrapped so a test
can hold a run mid-way (a ``hold-<udid>`` file in ``POMAR_TEST_CONTROL``) and unplug the device
(a ``gone-<udid>`` file makes discovery stop listing it). Sleeping lives here, never in product
code.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from agent.device import Device, RunOutcome, RunRequest
from agent.devices.emulated.device import EmulatedDevice
from pomar_core.wire import DeviceInfo

_HOLD_LIMIT_S = 120.0
_DEVICES: dict[str, HeldDevice] = {}


class HeldDevice:
    """An emulated device whose runs wait while their hold file exists."""

    def __init__(self, index: int, control: Path) -> None:
        self.inner = EmulatedDevice(index)
        self.control = control

    @property
    def info(self) -> DeviceInfo:
        return self.inner.info

    def check_ready(self) -> None:
        self.inner.check_ready()

    def run(self, request: RunRequest) -> RunOutcome:
        (self.control / f"started-{self.info.udid}-{request.run_id}").touch()
        hold = self.control / f"hold-{self.info.udid}"
        deadline = time.monotonic() + _HOLD_LIMIT_S
        while hold.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.inner.run(request)


def held() -> list[Device]:
    control = Path(os.environ["POMAR_TEST_CONTROL"])
    first = int(os.environ.get("POMAR_TEST_FIRST", "0"))
    count = int(os.environ.get("POMAR_TEST_COUNT", "1"))
    present: list[Device] = []
    for index in range(first, first + count):
        device = _DEVICES.setdefault(f"{index}", HeldDevice(index, control))
        if not (control / f"gone-{device.info.udid}").exists():
            present.append(device)
    return present
