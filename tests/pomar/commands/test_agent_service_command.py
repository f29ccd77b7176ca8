"""`pomar agent install-service --dry-run` prints this host's unit; `pomar agent` is still the
command that serves devices."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from pomar.cli import main


def test_dry_run_prints_the_unit_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if platform.system() not in ("Linux", "Darwin"):
        pytest.skip("install-service knows launchd and systemd only")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("POMAR_BROKER_URL", "redis://127.0.0.1:6379/0")
    code = main(["agent", "install-service", "--dry-run", "--", "--emulated", "2"])
    assert code == 0
    out = capsys.readouterr().out
    assert "agent --emulated 2" in out
    assert "redis://127.0.0.1:6379/0" in out
    assert not any(tmp_path.rglob("*"))


def test_pomar_agent_still_serves_and_lists_install_service(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["agent", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--emulated" in out
    assert "install-service" in out
