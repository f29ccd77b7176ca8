"""End to end through the fake iPhone: every outcome of the harness protocol."""

from __future__ import annotations

import numpy as np
import pytest

from agent.device import Device, Outcome
from agent.devices.ios.config import IosConfig
from agent.devices.ios.device import IosDevice
from agent.devices.ios.fake import FakeIPhone, FakeScenario, FakeSession, fake_ios_devices
from agent.devices.ios.harness_run import job_dir
from agent.devices.ios.model_cache import MODELS_DIR
from pomar_core.errors import AppNotInstalled, DeviceLost, DeviceNotReady
from pomar_core.wire import ComputeUnit
from tests.agent.devices.ios.conftest import RequestFactory, doubling_predictor, fake_session

BUNDLE = "org.pomar.harness"


def device_for(config: IosConfig, **scenario: object) -> tuple[IosDevice, FakeIPhone]:
    session = fake_session(**scenario)
    return IosDevice(session, config), session.device


def test_completed_run_returns_outputs_timings_and_memory(
    make_request: RequestFactory, config: IosConfig
) -> None:
    device, _ = device_for(config)
    outcome = device.run(make_request())
    assert outcome.outcome is Outcome.COMPLETED, outcome.error
    np.testing.assert_array_equal(outcome.outputs["y"], np.arange(6).reshape(2, 3) * 2)
    assert outcome.timings.latency is not None
    assert len(outcome.timings.latency.samples_ms) == 5
    assert outcome.timings.cold_load_ms == pytest.approx(50.0)
    assert (outcome.memory.peak_bytes or 0) > 0
    assert outcome.memory.device_limit_bytes == 3 * 1024**3  # iPhone 14 Pro: half of 6 GiB
    assert outcome.thermal_state == "nominal"


def test_fp16_outputs_from_the_accelerators_come_back_as_fp16(
    make_request: RequestFactory, config: IosConfig
) -> None:
    device, _ = device_for(config)
    outcome = device.run(make_request(compute_unit=ComputeUnit.ANE))
    assert outcome.outputs["y"].dtype == np.float16


def test_job_folder_is_cleaned_after_every_outcome(
    make_request: RequestFactory, config: IosConfig
) -> None:
    for scenario in ({}, {"crash": True}, {"hang": True}, {"jetsam_limit_bytes": 1}):
        device, phone = device_for(config, **scenario)
        request = make_request(timeout_s=0.2)
        device.run(request)
        assert phone.tree(job_dir(request.run_id)) == {}, scenario
        assert phone.tree(MODELS_DIR)  # the model stays cached


def test_oom_kill_is_an_outcome_with_the_jetsam_footprint(
    make_request: RequestFactory, config: IosConfig
) -> None:
    device, _ = device_for(config, jetsam_limit_bytes=40 * 2**20, peak_bytes=900 * 2**20)
    outcome = device.run(make_request())
    assert outcome.outcome is Outcome.OOM_KILLED
    assert "per-process-limit" in (outcome.error or "")
    assert outcome.memory.peak_bytes == 40 * 2**20


def test_crash_is_an_outcome_naming_the_exception(
    make_request: RequestFactory, config: IosConfig
) -> None:
    device, _ = device_for(config, crash=True)
    outcome = device.run(make_request())
    assert outcome.outcome is Outcome.CRASHED
    assert "EXC_BAD_ACCESS" in (outcome.error or "")


def test_hung_app_times_out_and_is_killed(make_request: RequestFactory, config: IosConfig) -> None:
    device, phone = device_for(config, hang=True)
    outcome = device.run(make_request(timeout_s=0.1))
    assert outcome.outcome is Outcome.TIMEOUT
    assert all(p.exited.is_set() for p in phone.processes.values())


def test_slow_run_within_the_timeout_completes(
    make_request: RequestFactory, config: IosConfig
) -> None:
    device, _ = device_for(config, run_delay_s=0.05)
    assert device.run(make_request(timeout_s=30)).outcome is Outcome.COMPLETED


def test_disconnect_mid_run_raises_device_lost_for_a_retry_elsewhere(
    make_request: RequestFactory, config: IosConfig
) -> None:
    device, _ = device_for(config, disconnect_during_run=True)
    request = make_request()
    with pytest.raises(DeviceLost) as caught:
        device.run(request)
    assert caught.value.run_id == request.run_id
    assert caught.value.device_udid == device.info.udid


def test_locked_device_raises_not_ready(make_request: RequestFactory, config: IosConfig) -> None:
    device, _ = device_for(config, locked=True)
    with pytest.raises(DeviceNotReady, match="locked"):
        device.check_ready()
    with pytest.raises(DeviceNotReady, match="locked"):
        device.run(make_request())


def test_missing_developer_mode_is_reported_with_its_fix(config: IosConfig) -> None:
    device, _ = device_for(config, developer_mode=False)
    with pytest.raises(DeviceNotReady, match="Developer Mode") as caught:
        device.check_ready()
    assert "amfi" in (caught.value.hint or "")


def test_missing_app_raises_app_not_installed(
    make_request: RequestFactory, config: IosConfig
) -> None:
    device, _ = device_for(config, app_installed=False)
    with pytest.raises(AppNotInstalled):
        device.check_ready()
    with pytest.raises(AppNotInstalled):
        device.run(make_request())


def test_app_error_is_an_error_outcome_with_its_phase(
    make_request: RequestFactory, config: IosConfig
) -> None:
    device, _ = device_for(config, app_error="MLModel load failed")
    outcome = device.run(make_request())
    assert outcome.outcome is Outcome.ERROR
    assert "during predict" in (outcome.error or "")
    assert "MLModel load failed" in (outcome.error or "")


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [({"low_power_mode": True}, "Low Power Mode"), ({"thermal_state": "serious"}, "serious")],
)
def test_refuses_to_time_a_hot_or_low_power_device(
    make_request: RequestFactory, config: IosConfig, scenario: dict[str, object], reason: str
) -> None:
    device, phone = device_for(config, **scenario)
    outcome = device.run(make_request())
    assert outcome.outcome is Outcome.ERROR
    assert reason in (outcome.error or "")
    assert "refused to time" in (outcome.error or "")
    assert phone.launches == 0


def test_model_is_pushed_once_per_sha(make_request: RequestFactory, config: IosConfig) -> None:
    device, phone = device_for(config)
    device.run(make_request(size=50_000))
    first = phone.bytes_pushed
    device.run(make_request(size=50_000))
    second = phone.bytes_pushed - first
    assert first > 50_000
    assert second < 10_000  # job.json, one input and the cache index: no model bytes
    assert phone.launches == 2


def test_least_recently_used_model_is_evicted_over_budget(
    make_request: RequestFactory,
) -> None:
    config = IosConfig(poll_interval_s=0.01, crash_report_wait_s=0.1, cache_budget_bytes=250_000)
    device, phone = device_for(config)
    a, b, c = "a" * 64, "b" * 64, "c" * 64
    device.run(make_request(sha=a, size=100_000))
    device.run(make_request(sha=b, size=100_000))
    device.run(make_request(sha=a, size=100_000))  # a is now more recent than b
    device.run(make_request(sha=c, size=100_000))
    cached = set(FakeSession(phone).list_dir(BUNDLE, MODELS_DIR))
    assert {a, c} <= cached
    assert b not in cached


def test_torn_push_is_pushed_again(make_request: RequestFactory, config: IosConfig) -> None:
    device, phone = device_for(config)
    request = make_request()
    # A folder without an index entry: an earlier push died half way.
    FakeSession(phone).write_files(BUNDLE, {f"{MODELS_DIR}/{request.model.sha256}/junk": b"x"})
    assert device.run(request).outcome is Outcome.COMPLETED
    assert f"{MODELS_DIR}/{request.model.sha256}/junk" not in phone.files


def test_three_infrastructure_failures_quarantine_until_a_check_passes(
    make_request: RequestFactory,
) -> None:
    config = IosConfig(poll_interval_s=0.01, crash_report_wait_s=0.1, quarantine_after=3)
    device, phone = device_for(config, hang=True)
    for _ in range(3):
        assert device.run(make_request(timeout_s=0.05)).outcome is Outcome.TIMEOUT
    with pytest.raises(DeviceNotReady, match="quarantined"):
        device.run(make_request())
    phone.scenario = FakeScenario()
    device.check_ready()
    assert device.run(make_request()).outcome is Outcome.COMPLETED


def test_fake_ios_devices_are_devices_with_catalog_facts() -> None:
    devices = fake_ios_devices(3, predictor=doubling_predictor)
    assert len(devices) == 3
    for device in devices:
        assert isinstance(device, Device)
        device.check_ready()
    assert devices[0].info.marketing_name == "iPhone 14 Pro"
    assert devices[1].info.chip == "A17 Pro"
    assert len({d.info.udid for d in devices}) == 3


def test_golden_result_fixture_converts_ns_to_ms_and_reads_outputs(
    make_request: RequestFactory, config: IosConfig
) -> None:
    from pathlib import Path

    from agent.devices.ios.harness_run import HarnessRunner

    fixtures = Path(__file__).resolve().parents[4] / "ios_harness" / "fixtures"
    if not (fixtures / "result_ok.json").exists():
        pytest.skip("harness fixtures not written yet")
    session = fake_session()
    runner = HarnessRunner(session, config)
    runner._facts = session.facts()
    folder = job_dir("run-0001")
    session.write_files(
        BUNDLE,
        {
            f"{folder}/result.json": (fixtures / "result_ok.json").read_bytes(),
            f"{folder}/outputs/y.npy": (fixtures / "float16_1x4.npy").read_bytes(),
        },
    )
    outcome, app_environment = runner._collect(make_request(), folder, "DONE", None)
    assert app_environment is not None
    assert app_environment.battery_state == "charging"
    assert outcome.outcome is Outcome.COMPLETED, outcome.error
    assert outcome.timings.cold_load_ms == pytest.approx(812.4)
    assert outcome.timings.latency is not None
    assert outcome.timings.latency.p50_ms == pytest.approx(1.801)
    assert outcome.memory.peak_bytes == 61_250_000
    assert outcome.memory.device_limit_bytes == 21_000_000 + 2_900_000_000
    assert outcome.outputs["y"].shape == (1, 4)


def test_default_fake_predictor_runs_the_emulator_in_fp16_off_the_cpu(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    import coreml_emulator
    from agent.devices.ios.fake import emulator_predictor

    calls: list[str] = []

    def fake_predict(model_path: object, inputs: object, *, precision: str = "fp32") -> dict:
        calls.append(precision)
        return {}

    monkeypatch.setattr(coreml_emulator, "predict", fake_predict)
    emulator_predictor(__import__("pathlib").Path("m.mlpackage"), {}, "ane")
    emulator_predictor(__import__("pathlib").Path("m.mlpackage"), {}, "cpu")
    assert calls == ["fp16", "fp32"]
