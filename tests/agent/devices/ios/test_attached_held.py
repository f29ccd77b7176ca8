"""Phones the attached-iPhones source holds back are still listed, with why, for heartbeats."""

from __future__ import annotations

from agent.devices.ios.attached import AttachedIphones
from agent.devices.ios.config import IosConfig
from agent.devices.ios.fake import FakeIPhone, FakeScenario, FakeTransport
from tests.agent.devices.ios.conftest import doubling_predictor


def test_a_locked_phone_is_listed_as_held_with_its_reason_and_an_unplugged_one_is_not(
    config: IosConfig,
) -> None:
    ready = FakeIPhone("00008110-HELD00000001", predictor=doubling_predictor)
    locked = FakeIPhone(
        "00008110-HELD00000002", scenario=FakeScenario(locked=True), predictor=doubling_predictor
    )
    source = AttachedIphones(FakeTransport([ready, locked]), config)
    assert [d.info.udid for d in source()] == [ready.udid]
    ((device, reason),) = source.held()
    assert device.info.udid == locked.udid
    assert "locked" in reason
    locked.disconnect()
    source()
    assert source.held() == []


def test_a_quarantined_phone_is_held_and_its_reason_says_quarantined(config: IosConfig) -> None:
    phone = FakeIPhone("00008110-HELD00000003", predictor=doubling_predictor)
    source = AttachedIphones(FakeTransport([phone]), config, recheck_s=3600)
    (device,) = source()
    quarantine = device.quarantine  # type: ignore[attr-defined]
    for _ in range(quarantine.threshold):
        quarantine.record_infrastructure_failure("the iPhone is locked")
    assert source() == []
    ((_, reason),) = source.held()
    assert "quarantined after" in reason
