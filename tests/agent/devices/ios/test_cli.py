"""``pomar devices --check`` and ``pomar agent --ios`` from the command line, with fake
iPhones behind the transport seam and, for the no-usbmuxd case, the real library."""

from __future__ import annotations

import json
import plistlib
import zipfile
from pathlib import Path

import pytest

from agent.devices.ios.config import IosConfig
from agent.devices.ios.fake import FakeIPhone, FakeScenario, FakeTransport
from pomar.cli import main
from tests.agent.devices.ios.conftest import doubling_predictor


def attach(monkeypatch: pytest.MonkeyPatch, *phones: FakeIPhone) -> list[IosConfig]:
    """Put ``phones`` behind ``open_usbmux_transport``; returns the configs it was opened with."""
    seen: list[IosConfig] = []

    def open_fake(config: IosConfig) -> FakeTransport:
        seen.append(config)
        return FakeTransport(list(phones))

    monkeypatch.setattr("agent.devices.ios.backend.open_usbmux_transport", open_fake)
    return seen


def phone(n: int, **scenario: object) -> FakeIPhone:
    return FakeIPhone(
        f"00008110-CLI{n:08d}",
        scenario=FakeScenario(**scenario),  # type: ignore[arg-type]
        predictor=doubling_predictor,
    )


def ipa(tmp_path: Path, version: str, bundle_id: str = "org.pomar.harness") -> Path:
    path = tmp_path / "PomarHarness.ipa"
    info = {"CFBundleIdentifier": bundle_id, "CFBundleShortVersionString": version}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Payload/PomarHarness.app/Info.plist", plistlib.dumps(info))
        archive.writestr("Payload/PomarHarness.app/PlugIns/X.appex/Info.plist", b"not this one")
    return path


def test_check_exits_0_when_every_attached_phone_is_ready(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    attach(monkeypatch, phone(1), phone(2))
    assert main(["devices", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.count(": ready") == 2


def test_check_names_each_problem_with_its_fix_and_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    attach(
        monkeypatch,
        phone(1),
        phone(2, locked=True, developer_mode=False, app_installed=False, free_bytes=10**8),
    )
    assert main(["devices", "--check"]) == 3
    out = capsys.readouterr().out
    assert "00008110-CLI00000001 iPhone 14 Pro iOS 17.5.1: ready" in out
    assert "00008110-CLI00000002 iPhone 14 Pro iOS 17.5.1: NOT READY" in out
    for fix in ("Auto-Lock", "amfi reveal-developer-mode", "--install", "iPhone Storage"):
        assert fix in out


def test_check_json_lists_problems_by_kind(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    attach(monkeypatch, phone(1, app_version="0.9"))
    assert main(["devices", "--check", "--json", "--bundle-id", "org.pomar.harness"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] is True
    assert report["devices"][0]["app_version"] == "0.9"  # no --ipa: any version will do


def test_check_install_puts_the_ipa_version_on_phones_that_differ(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    old, current, missing = phone(1, app_version="0.9"), phone(2), phone(3, app_installed=False)
    seen = attach(monkeypatch, old, current, missing)
    app = ipa(tmp_path, "1.0")
    assert main(["devices", "--check"]) == 3  # before: one missing app
    monkeypatch.setenv("POMAR_HARNESS_APP", str(app))
    assert main(["devices", "--check", "--install"]) == 0
    assert (old.installs, current.installs, missing.installs) == (1, 0, 1)
    assert (seen[-1].app_path, seen[-1].app_version) == (app, "1.0")


def test_check_install_without_an_app_is_bad_usage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("POMAR_HARNESS_APP", raising=False)
    attach(monkeypatch, phone(1))
    assert main(["devices", "--check", "--install"]) == 2
    assert "--ipa PATH or set POMAR_HARNESS_APP" in capsys.readouterr().err


def test_an_app_that_is_not_an_ipa_is_bad_usage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    attach(monkeypatch, phone(1))
    junk = tmp_path / "junk.ipa"
    junk.write_bytes(b"not a zip")
    assert main(["devices", "--check", "--install", "--ipa", str(junk)]) == 2
    assert "cannot read the harness app" in capsys.readouterr().err


def test_check_with_no_phone_attached_says_so_and_exits_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    attach(monkeypatch)
    assert main(["devices", "--check"]) == 3
    assert "no iPhone attached" in capsys.readouterr().out


@pytest.fixture
def no_usbmuxd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The real pymobiledevice3 transport, pointed at a usbmuxd socket that does not exist."""
    monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", str(tmp_path / "no-usbmuxd.sock"))
    monkeypatch.setenv("POMAR_BROKER_URL", "redis://127.0.0.1:9/0")  # never reached


def test_check_without_usbmuxd_is_one_line_and_exit_3(
    no_usbmuxd: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["devices", "--check"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("pomar: error: cannot list iPhones: no usbmuxd answers on this host")


def test_agent_ios_without_usbmuxd_is_one_line_and_exit_3(
    no_usbmuxd: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agent", "--ios"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no usbmuxd answers" in err


def test_a_bare_agent_without_usbmuxd_skips_iphones_and_says_what_to_serve(
    no_usbmuxd: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agent"]) == 2
    err = capsys.readouterr().err
    assert "no devices to serve (no usbmuxd here, so no iPhones)" in err
    assert "--ios" in err


def test_agent_mac_off_macos_is_one_line_and_exit_3(
    no_usbmuxd: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    assert main(["agent", "--mac"]) == 3
    assert "needs macOS" in capsys.readouterr().err
