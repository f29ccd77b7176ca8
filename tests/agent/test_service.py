"""`pomar agent install-service`: the launchd plist and the systemd user unit carry the
program, the farm's environment, log paths and a restart policy, written for this user only."""

from __future__ import annotations

import plistlib
import stat
from pathlib import Path

import pytest

from agent.service import agent_service, write_service
from pomar_core.errors import UsageError

ENV = {
    "POMAR_BROKER_URL": "redis://:s3cret@coordinator:6379/0",
    "POMAR_ARTIFACTS_URL": "/Volumes/pomar-artifacts",
    "POMAR_LOG_FORMAT": "json",
    "HOME": "/not/passed/on",
}


def test_the_launchd_plist_keeps_the_agent_alive_with_its_environment_and_logs(
    tmp_path: Path,
) -> None:
    service = agent_service(
        "Darwin", Path("/venv/bin/pomar"), ["--ios", "--label", "lab"], ENV, tmp_path
    )
    plist = plistlib.loads(service.render().encode())
    assert plist["Label"] == "dev.pomar.agent"
    assert plist["ProgramArguments"] == ["/venv/bin/pomar", "agent", "--ios", "--label", "lab"]
    assert plist["EnvironmentVariables"] == {
        "POMAR_BROKER_URL": "redis://:s3cret@coordinator:6379/0",
        "POMAR_ARTIFACTS_URL": "/Volumes/pomar-artifacts",
        "POMAR_LOG_FORMAT": "json",
    }
    assert plist["KeepAlive"] is True
    assert plist["RunAtLoad"] is True
    assert plist["ThrottleInterval"] == 10
    log = str(tmp_path / "Library" / "Logs" / "pomar" / "agent.log")
    assert plist["StandardOutPath"] == plist["StandardErrorPath"] == log
    assert service.path == tmp_path / "Library" / "LaunchAgents" / "dev.pomar.agent.plist"
    assert "launchctl bootstrap gui/$(id -u)" in service.next_steps()


def test_the_systemd_user_unit_restarts_always_and_quotes_its_values(tmp_path: Path) -> None:
    env = {**ENV, "POMAR_DATA_DIR": '/data/"odd" 100%'}
    service = agent_service("Linux", Path("/venv/bin/pomar"), ["--emulated", "2"], env, tmp_path)
    unit = service.render()
    lines = unit.splitlines()
    assert "ExecStart=/venv/bin/pomar agent --emulated 2" in lines
    assert 'Environment="POMAR_BROKER_URL=redis://:s3cret@coordinator:6379/0"' in lines
    assert 'Environment="POMAR_DATA_DIR=/data/\\"odd\\" 100%%"' in lines
    assert "Restart=always" in lines
    assert "RestartSec=10" in lines
    log = tmp_path / ".local" / "state" / "pomar" / "agent.log"
    assert f"StandardOutput=append:{log}" in lines
    assert "WantedBy=default.target" in lines
    assert not any("HOME" in line for line in lines)
    assert service.path == tmp_path / ".config" / "systemd" / "user" / "pomar-agent.service"


def test_the_written_file_is_readable_by_its_user_only(tmp_path: Path) -> None:
    service = agent_service("Linux", Path("/venv/bin/pomar"), [], ENV, tmp_path)
    path = write_service(service)
    assert path.read_text() == service.render()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert service.log_path.parent.is_dir()


def test_no_broker_or_an_unknown_os_is_bad_usage(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="needs POMAR_BROKER_URL"):
        agent_service("Linux", Path("/venv/bin/pomar"), [], {}, tmp_path)
    with pytest.raises(UsageError, match="not Windows"):
        agent_service("Windows", Path("/venv/bin/pomar"), [], ENV, tmp_path)
