"""The catalog, device checks, quarantine, and the golden harness fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.devices.ios.config import IosConfig
from agent.devices.ios.fake import FakeIPhone, FakeScenario, FakeTransport
from agent.devices.ios.quarantine import QuarantinePolicy
from agent.devices.ios.readiness import check_devices
from pomar_core import catalog
from pomar_core.wire.harness import HarnessJob, HarnessResult

FIXTURES = Path(__file__).resolve().parents[4] / "ios_harness" / "fixtures"


def test_catalog_knows_every_iphone_from_xs_to_17() -> None:
    types = {m.product_type for m in catalog.all_iphones()}
    assert {"iPhone11,2", "iPhone15,2", "iPhone16,1", "iPhone17,5", "iPhone18,4"} <= types
    pro = catalog.lookup_iphone("iPhone16,1")
    assert pro is not None
    assert (pro.marketing_name, pro.chip, pro.ram_bytes) == ("iPhone 15 Pro", "A17 Pro", 8 * 2**30)
    assert catalog.app_memory_limit_bytes("iPhone16,1") == 4 * 2**30
    assert catalog.lookup_iphone("iPhone99,1") is None
    assert catalog.marketing_name("iPhone99,1") == "iPhone99,1"


def test_catalog_limits_are_about_half_of_ram() -> None:
    for model in catalog.all_iphones():
        assert 0.45 <= model.app_memory_limit_bytes / model.ram_bytes <= 0.65, model


def test_catalog_names_agree_with_pymobiledevice3s_device_table() -> None:
    from pymobiledevice3.irecv_devices import IRECV_DEVICES

    theirs = {d.product_type: d.display_name for d in IRECV_DEVICES}
    for model in catalog.all_iphones():
        assert model.product_type in theirs, model.product_type
        # Theirs spells "(2nd gen)" and "(China)"; compare the stem.
        assert theirs[model.product_type].startswith(model.marketing_name.split(" (")[0])


def test_device_check_lists_each_problem_with_a_fix() -> None:
    phones = [
        FakeIPhone("A", scenario=FakeScenario()),
        FakeIPhone("B", scenario=FakeScenario(paired=False, locked=True, developer_mode=False)),
        FakeIPhone("C", scenario=FakeScenario(app_installed=False, free_bytes=10**8)),
        FakeIPhone("D", scenario=FakeScenario(disk_image_mounted=False)),  # auto-mounted
        FakeIPhone(
            "E", scenario=FakeScenario(disk_image_mounted=False, disk_image_mountable=False)
        ),
    ]
    checks = {c.udid: c for c in check_devices(FakeTransport(phones), IosConfig(app_version="1.0"))}
    assert checks["A"].ok
    assert checks["D"].ok
    assert {p.what for p in checks["B"].problems} == {"trust", "unlocked", "developer_mode"}
    assert {p.what for p in checks["C"].problems} == {"app", "storage"}
    assert {p.what for p in checks["E"].problems} == {"disk_image"}
    assert all(p.fix for c in checks.values() for p in c.problems)
    assert "NOT READY" in checks["B"].lines()[0]


def test_device_check_installs_the_app_when_its_version_differs(tmp_path: Path) -> None:
    phone = FakeIPhone("A", scenario=FakeScenario(app_version="0.9"))
    config = IosConfig(app_path=tmp_path / "Harness.ipa", app_version="1.0")
    assert not check_devices(FakeTransport([phone]), config)[0].ok
    assert check_devices(FakeTransport([phone]), config, install=True)[0].ok
    assert phone.installs == 1
    check_devices(FakeTransport([phone]), config, install=True)
    assert phone.installs == 1  # same version: not reinstalled


def test_quarantine_after_n_failures_in_a_row_until_a_check_passes() -> None:
    policy = QuarantinePolicy(threshold=3)
    assert not policy.record_infrastructure_failure("lost")
    policy.record_success()  # a success in between resets the count
    assert not policy.record_infrastructure_failure("lost")
    assert not policy.record_infrastructure_failure("lost")
    assert policy.record_infrastructure_failure("tunnel down")
    assert policy.quarantined
    assert "tunnel down" in policy.describe()
    policy.record_success()
    assert policy.quarantined  # only a check releases it
    policy.record_check(passed=False)
    assert policy.quarantined
    policy.record_check(passed=True)
    assert not policy.quarantined


@pytest.mark.skipif(not FIXTURES.exists(), reason="harness fixtures not written yet")
def test_golden_harness_fixtures_parse_with_the_models_the_runner_uses() -> None:
    HarnessJob.model_validate_json((FIXTURES / "job.json").read_text())
    for name in ("result_ok.json", "result_failed.json"):
        result = HarnessResult.model_validate_json((FIXTURES / name).read_text())
        assert result.environment.os_version
    ok = json.loads((FIXTURES / "result_ok.json").read_text())
    assert ok["status"] == "ok"
