"""On a real iPhone (skipped without one): facts, app install, one run through the harness.

Set ``POMAR_TEST_HARNESS_APP`` (a signed ``.ipa``/``.app``) and ``POMAR_TEST_HARNESS_VERSION``
to also install the app; otherwise the installed harness is used as is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agent.device import Outcome
from agent.devices.ios.config import IosConfig
from agent.devices.ios.device import IosDevice
from agent.devices.ios.transport import DeviceSession
from pomar_core.errors import DeviceError
from tests.agent.devices.ios.conftest import RequestFactory


@pytest.fixture(scope="module")
def ios_config() -> IosConfig:
    app = os.environ.get("POMAR_TEST_HARNESS_APP")
    return IosConfig(
        app_path=Path(app) if app else None,
        app_version=os.environ.get("POMAR_TEST_HARNESS_VERSION"),
    )


@pytest.fixture(scope="module")
def iphone(ios_config: IosConfig) -> Iterator[DeviceSession]:
    """The first attached iPhone; marks the test ``iphone`` and skips when there is none."""
    from agent.devices.ios.pmd3 import Pmd3Transport

    transport = Pmd3Transport(ios_config)
    try:
        devices = transport.list_devices()
    except DeviceError as exc:
        transport.close()
        pytest.skip(f"no usbmuxd here: {exc.one_line()}")
    if not devices:
        transport.close()
        pytest.skip("no iPhone attached")
    session = transport.open(devices[0].udid)
    yield session
    session.close()
    transport.close()


@pytest.fixture(autouse=True)
def _mark_iphone(request: pytest.FixtureRequest) -> None:
    request.node.add_marker(pytest.mark.iphone)


def test_facts_come_from_the_device_and_the_catalog(iphone: DeviceSession) -> None:
    facts = iphone.facts()
    assert facts.udid == iphone.udid
    assert facts.product_type.startswith("iPhone")
    assert facts.ios_version[0].isdigit()


def test_install_only_when_the_version_differs(
    iphone: DeviceSession, ios_config: IosConfig
) -> None:
    if ios_config.app_path is None or ios_config.app_version is None:
        pytest.skip("POMAR_TEST_HARNESS_APP / POMAR_TEST_HARNESS_VERSION not set")
    iphone.install_app_if_version_differs(
        ios_config.app_path, ios_config.bundle_id, ios_config.app_version
    )
    assert not iphone.install_app_if_version_differs(
        ios_config.app_path, ios_config.bundle_id, ios_config.app_version
    )


def test_one_run_through_the_harness(
    iphone: DeviceSession, ios_config: IosConfig, make_request: RequestFactory, tmp_path: Path
) -> None:
    model = os.environ.get("POMAR_TEST_MODEL")
    if model is None:
        pytest.skip("POMAR_TEST_MODEL (an .mlpackage taking x[2,3] → y) not set")
    device = IosDevice(iphone, ios_config)
    device.check_ready()
    request = make_request()
    request = type(request)(**{**request.__dict__, "model_path": Path(model)})
    outcome = device.run(request)
    assert outcome.outcome is Outcome.COMPLETED, outcome.error
    assert np.isfinite(outcome.outputs["y"]).all()
