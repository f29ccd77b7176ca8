"""`pomar selftest`: one line per check, exit 0/1/3, and the bug-report bundle."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from agent.selftest import devices
from agent.selftest.devices import fake_selftest_iphone
from pomar.cli import main


def test_a_healthy_fake_iphone_passes_and_the_bundle_holds_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "selftest.tar.gz"
    assert main(["selftest", "--device", "fake-ios", "--bundle", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "pass  jetsam classification [all]: measured oom_killed" in out
    assert "skip  compute plan" in out
    with tarfile.open(bundle) as archive:
        names = set(archive.getnames())
        checks = json.loads(archive.extractfile("selftest/checks.json").read())  # type: ignore[union-attr]
        env = json.loads(archive.extractfile("selftest/environment.json").read())  # type: ignore[union-attr]
    assert {"selftest/device.json", "selftest/raw/exact-all.json"} <= names
    assert any(n.startswith("selftest/device_logs/JetsamEvent-") for n in names)
    assert any(n.startswith("selftest/outputs/exact-all/") for n in names)
    assert len(checks["checks"]) == 5
    assert env["packages"]["coremltools"]


def test_a_failing_check_exits_1_with_the_measured_value_and_band(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = fake_selftest_iphone(timings_bug="zero")
    monkeypatch.setattr(devices, "selftest_device", lambda _id: broken)
    assert main(["selftest", "--device", "fake-ios"]) == 1
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("fail"))
    assert "latency sanity" in line
    assert "measured first 0 ms" in line
    assert "expected every phase > 0" in line


def test_a_device_that_is_not_ready_exits_3_and_still_writes_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = fake_selftest_iphone(locked=True)
    monkeypatch.setattr(devices, "selftest_device", lambda _id: locked)
    bundle = tmp_path / "b.tar.gz"
    assert main(["selftest", "--device", "fake-ios", "--bundle", str(bundle)]) == 3
    assert "selftest stopped" in capsys.readouterr().err
    assert bundle.exists()


def test_an_unknown_local_device_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest", "--device", "emulated-x"]) == 2
    assert "no local device" in capsys.readouterr().err
