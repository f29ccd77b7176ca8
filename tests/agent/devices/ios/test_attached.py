"""The attached-iPhones device source: phones come and go, and only ready ones are served."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from agent.devices.ios.attached import AttachedIphones
from agent.devices.ios.backend import ios_source
from agent.devices.ios.config import IosConfig
from agent.devices.ios.device import IosDevice
from agent.devices.ios.fake import FakeIPhone, FakeScenario, FakeTransport
from pomar_core.errors import DeviceLost, DeviceNotReady, TransportUnavailable
from tests.agent.devices.ios.conftest import RequestFactory, doubling_predictor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def phone(n: int, **scenario: object) -> FakeIPhone:
    return FakeIPhone(
        f"00008110-ATTACHED{n:04d}",
        scenario=FakeScenario(**scenario),  # type: ignore[arg-type]
        predictor=doubling_predictor,
    )


def served(source: AttachedIphones) -> list[str]:
    return sorted(d.info.udid for d in source())


def test_phones_are_served_as_they_attach_and_dropped_when_unplugged(config: IosConfig) -> None:
    a, b = phone(1), phone(2)
    source = AttachedIphones(FakeTransport([a, b]), config)
    assert served(source) == [a.udid, b.udid]
    b.disconnect()
    assert served(source) == [a.udid]
    b.reconnect()
    assert served(source) == [a.udid, b.udid]


def test_a_locked_phone_is_held_back_with_its_fix_until_a_recheck_passes(
    config: IosConfig, caplog: pytest.LogCaptureFixture
) -> None:
    locked = phone(1, locked=True)
    clock = Clock()
    source = AttachedIphones(FakeTransport([locked]), config, recheck_s=30, clock=clock)
    with caplog.at_level(logging.WARNING, logger="agent.devices.ios.attached"):
        assert served(source) == []
        assert served(source) == []
    held = [r.getMessage() for r in caplog.records if "not served" in r.getMessage()]
    assert len(held) == 1  # said once, not on every discovery pass
    assert "locked" in held[0]
    assert "Auto-Lock" in held[0]
    locked.scenario = replace(locked.scenario, locked=False)
    clock.now = 29
    assert served(source) == []  # not checked again before recheck_s
    clock.now = 30
    assert served(source) == [locked.udid]


def test_a_quarantined_phone_stops_being_served_until_its_check_passes(
    make_request: RequestFactory,
) -> None:
    flaky = phone(1)
    clock = Clock()
    source = AttachedIphones(
        FakeTransport([flaky]), IosConfig(quarantine_after=2), recheck_s=10, clock=clock
    )
    (device,) = source()
    assert isinstance(device, IosDevice)
    flaky.scenario = replace(flaky.scenario, locked=True)  # auto-lock kicked in
    for _ in range(2):
        with pytest.raises(DeviceNotReady, match="locked"):
            device.run(make_request())
    assert device.quarantine.quarantined
    assert served(source) == []
    flaky.scenario = replace(flaky.scenario, locked=False)
    clock.now = 10
    assert served(source) == [flaky.udid]
    assert not device.quarantine.quarantined


def test_the_harness_is_installed_on_attach_only_when_its_version_differs(
    config: IosConfig, tmp_path: Path
) -> None:
    old, current = phone(1, app_version="0.9"), phone(2, app_version="1.1")
    missing = phone(3, app_installed=False)
    with_app = replace(config, app_path=tmp_path / "Harness.ipa", app_version="1.1")
    source = AttachedIphones(FakeTransport([old, current, missing]), with_app)
    assert len(source()) == 3
    assert (old.installs, current.installs, missing.installs) == (1, 0, 1)


def test_no_usbmuxd_at_start_raises_but_a_later_outage_keeps_serving(config: IosConfig) -> None:
    class Flaky(FakeTransport):
        down = False

        def list_devices(self) -> list:  # type: ignore[type-arg]
            if self.down:
                raise TransportUnavailable("usbmuxd went away")
            return super().list_devices()

    transport = Flaky([phone(1)])
    transport.down = True
    source = ios_source(config, transport)
    with pytest.raises(TransportUnavailable):
        source()
    transport.down = False
    assert len(source()) == 1
    transport.down = True
    assert len(source()) == 1


def test_a_phone_that_cannot_be_opened_is_tried_again_later(config: IosConfig) -> None:
    flaky = phone(1)
    opens = 0

    class Refusing(FakeTransport):
        def open(self, udid: str):  # type: ignore[no-untyped-def]
            nonlocal opens
            opens += 1
            if opens == 1:
                raise DeviceLost("lockdownd hung up", device_udid=udid)
            return super().open(udid)

    clock = Clock()
    source = AttachedIphones(Refusing([flaky]), config, recheck_s=5, clock=clock)
    assert served(source) == []
    clock.now = 5
    assert served(source) == [flaky.udid]
