"""Several fake iPhones at once, of a few product types (tests, ``pomar agent --fake-ios N``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agent.device import Device
from agent.devices.ios.config import IosConfig
from agent.devices.ios.device import IosDevice
from agent.devices.ios.fake.phone import FakeIPhone
from agent.devices.ios.fake.predictor import Predictor
from agent.devices.ios.fake.scenario import FakeScenario
from agent.devices.ios.fake.transport import FakeTransport

FAKE_PRODUCT_TYPES = ("iPhone15,2", "iPhone16,1", "iPhone14,7", "iPhone17,3")

FAST_CONFIG = IosConfig(poll_interval_s=0.01, exit_grace_s=1.0, crash_report_wait_s=0.2)
"""Polling tuned for fakes, whose app answers in milliseconds."""


def fake_iphones(
    n: int, *, predictor: Predictor | None = None, **scenario: Any
) -> list[FakeIPhone]:
    """``n`` fake iPhones of a few product types, all playing ``FakeScenario(**scenario)``."""
    base = FakeScenario(**scenario)
    return [
        FakeIPhone(
            udid=f"00008000-FAKE{i:012d}",
            product_type=FAKE_PRODUCT_TYPES[i % len(FAKE_PRODUCT_TYPES)],
            scenario=replace(base),
            predictor=predictor,
        )
        for i in range(n)
    ]


def fake_ios_devices(
    n: int, *, config: IosConfig | None = None, predictor: Predictor | None = None, **scenario: Any
) -> list[Device]:
    """``n`` fake iPhones as ``agent.device.Device``\\ s, for ``pomar agent --fake-ios N``."""
    transport = FakeTransport(fake_iphones(n, predictor=predictor, **scenario))
    cfg = config or FAST_CONFIG
    return [IosDevice(transport.open(ref.udid), cfg) for ref in transport.list_devices()]
