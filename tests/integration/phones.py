"""Fake iPhones for agent subprocesses, behind the real attached-iPhones source:
``pomar agent --devices-from tests.integration.phones:attached``.

``POMAR_TEST_PHONES`` is a JSON object ``{udid: {FakeScenario field: value}}``. Files in
``POMAR_TEST_CONTROL`` script what happens next, as in ``tests/integration/devices.py``:

- ``hold-<udid>``: the app launch waits while it exists (the test sees where a run landed);
- ``lock-<udid>``: the phone is locked while it exists (Auto-Lock kicked in);
- ``drop-<udid>``: the phone disconnects during its next run;
- ``started-<udid>-<run_id>`` is written when a launch begins.

Phones are quarantined after ``POMAR_TEST_QUARANTINE_AFTER`` infrastructure failures (default 1)
and checked again every 0.3 s while held back. Sleeping lives here, never in product code.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

from agent.device import Device
from agent.devices.ios.backend import ios_source
from agent.devices.ios.fake import FAST_CONFIG, FakeIPhone, FakeScenario, FakeSession, FakeTransport
from agent.devices.ios.transport import DeviceRef
from agent.discovery import DeviceSource

_HOLD_LIMIT_S = 120.0
_SOURCE: list[DeviceSource] = []


def _control() -> Path:
    return Path(os.environ["POMAR_TEST_CONTROL"])


def _apply_control(phone: FakeIPhone) -> None:
    control = _control()
    locked = (control / f"lock-{phone.udid}").exists()
    drop = (control / f"drop-{phone.udid}").exists()
    phone.scenario = replace(phone.scenario, locked=locked, disconnect_during_run=drop)


class ControlledSession(FakeSession):
    def launch(self, bundle_id: str, arguments: list[str]) -> int:
        control = _control()
        run_id = arguments[arguments.index("--pomar-run") + 1]
        (control / f"started-{self.udid}-{run_id}").touch()
        hold = control / f"hold-{self.udid}"
        deadline = time.monotonic() + _HOLD_LIMIT_S
        while hold.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        _apply_control(self.device)
        return super().launch(bundle_id, arguments)


class ControlledTransport(FakeTransport):
    def list_devices(self) -> list[DeviceRef]:
        for phone in self.devices.values():
            _apply_control(phone)
        return super().list_devices()

    def open(self, udid: str) -> FakeSession:
        return ControlledSession(super().open(udid).device)


def attached() -> list[Device]:
    if not _SOURCE:
        phones = [
            FakeIPhone(udid, scenario=FakeScenario(**scenario))
            for udid, scenario in json.loads(os.environ["POMAR_TEST_PHONES"]).items()
        ]
        quarantine_after = int(os.environ.get("POMAR_TEST_QUARANTINE_AFTER", "1"))
        config = replace(FAST_CONFIG, quarantine_after=quarantine_after)
        _SOURCE.append(ios_source(config, ControlledTransport(phones), recheck_s=0.3))
    return list(_SOURCE[0]())


def _held() -> list[tuple[Device, str]]:
    source = _SOURCE[0] if _SOURCE else None
    held_of = getattr(source, "held", None)
    return list(held_of()) if callable(held_of) else []


attached.held = _held  # type: ignore[attr-defined]
