"""A cancelled iPhone run kills the app and comes back ``cancelled``; devices that ignore the
cancellation hook still work (it is optional)."""

from __future__ import annotations

import threading
from dataclasses import replace

from agent.device import Outcome
from agent.devices.ios.config import IosConfig
from agent.devices.ios.device import IosDevice
from tests.agent.devices.ios.conftest import RequestFactory, fake_session


def test_a_cancelled_run_kills_the_hung_app_and_does_not_count_against_the_device(
    make_request: RequestFactory, config: IosConfig
) -> None:
    session = fake_session(hang=True)
    device = IosDevice(session, config)
    cancel = threading.Event()
    cancel.set()
    outcome = device.run(replace(make_request(timeout_s=30), cancel=cancel))
    assert outcome.outcome is Outcome.CANCELLED
    assert outcome.error == "cancelled: the app was killed"
    assert all(p.exited.is_set() for p in session.device.processes.values())
    assert device.quarantine.consecutive_failures == 0


def test_a_run_without_a_cancel_hook_runs_to_completion(
    make_request: RequestFactory, config: IosConfig
) -> None:
    device = IosDevice(fake_session(), config)
    request = make_request()
    assert request.cancel is None
    assert not request.cancelled
    assert device.run(request).outcome is Outcome.COMPLETED
