"""Battery, heat and Low Power Mode around an iPhone run reach the outcome, with the app's
warnings and the time cap the agent puts in job.json."""

from __future__ import annotations

import json

from agent.device import Outcome
from agent.devices.ios.config import IosConfig
from agent.devices.ios.device import IosDevice
from agent.devices.ios.harness_run import HarnessRunner, run_environment
from agent.devices.ios.services.status import DeviceFacts
from pomar_core.wire import RunEnvironment
from pomar_core.wire.harness import HarnessEnvironment
from tests.agent.devices.ios.conftest import RequestFactory, fake_session


def facts(**state: object) -> DeviceFacts:
    return DeviceFacts(
        udid="u", product_type="iPhone15,2", ios_version="17.5", marketing_name="x", **state
    )  # type: ignore[arg-type]


def app_environment(**changes: object) -> HarnessEnvironment:
    base = HarnessEnvironment(
        thermal_state_by_phase={"start": "nominal", "predictions": "fair", "end": "fair"},
        low_power_mode=False,
        battery_level=0.5,
        os_version="17.5",
        device_model="iPhone15,2",
        app_version="1.0",
    )
    return base.model_copy(update=changes)


def test_a_completed_run_carries_battery_before_and_after_and_the_apps_warnings(
    make_request: RequestFactory, config: IosConfig
) -> None:
    session = fake_session(battery_level=0.61, battery_state="charging")
    outcome = IosDevice(session, config).run(make_request())
    assert outcome.outcome is Outcome.COMPLETED, outcome.error
    assert outcome.environment == RunEnvironment(
        battery_before=0.61,
        battery_after=0.61,
        thermal_before="nominal",
        thermal_after="nominal",
        low_power_mode=False,
    )
    assert "compute plan: the fake iPhone does not make one" in outcome.warnings


def test_an_ios16_phone_says_why_there_is_no_compute_plan(
    make_request: RequestFactory, config: IosConfig
) -> None:
    session = fake_session()
    session.device.ios_version = "16.7.8"
    outcome = IosDevice(session, config).run(make_request())
    assert "compute plan: needs iOS 17.4, this is 16.7.8" in outcome.warnings


def test_a_refused_run_still_reports_the_environment_that_refused_it(
    make_request: RequestFactory, config: IosConfig
) -> None:
    outcome = IosDevice(fake_session(low_power_mode=True), config).run(make_request())
    assert outcome.outcome is Outcome.ERROR
    assert outcome.environment is not None
    assert outcome.environment.low_power_mode is True


def test_crash_and_oom_outcomes_carry_the_environment(
    make_request: RequestFactory, config: IosConfig
) -> None:
    for scenario in ({"crash": True}, {"jetsam_limit_bytes": 1}):
        outcome = IosDevice(fake_session(**scenario), config).run(make_request())
        assert outcome.outcome in (Outcome.CRASHED, Outcome.OOM_KILLED)
        assert outcome.environment is not None, scenario
        assert outcome.environment.battery_after == 0.8


def test_a_real_phones_missing_thermal_and_low_power_come_from_the_app() -> None:
    # pymobiledevice3 reports neither; lockdown's battery wins over the app's UIDevice reading.
    env = run_environment(
        facts(battery_level=0.9), facts(battery_level=0.88), app_environment(low_power_mode=True)
    )
    assert env == RunEnvironment(
        battery_before=0.9,
        battery_after=0.88,
        thermal_before="nominal",
        thermal_after="fair",
        low_power_mode=True,
    )


def test_without_a_result_the_environment_is_what_lockdown_said() -> None:
    env = run_environment(facts(battery_level=None), facts(battery_level=0.4), None)
    assert env == RunEnvironment(battery_after=0.4)
    assert run_environment(facts(), None, app_environment()).battery_before == 0.5


def test_job_json_caps_the_timed_loop_at_half_the_run_timeout(
    make_request: RequestFactory, config: IosConfig
) -> None:
    runner = HarnessRunner(fake_session(), config)
    request = make_request(timeout_s=40.0)
    files = runner._job_files(request, "models/x/model.mlpackage")
    job = json.loads(next(v for k, v in files.items() if k.endswith("job.json")))
    assert job["max_duration_s"] == 20.0
    assert job["min_duration_s"] == 0.0
