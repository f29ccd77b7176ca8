"""The deploy files parse and start commands that exist (Docker cannot run here)."""

from __future__ import annotations

import configparser
import plistlib
import shlex
from pathlib import Path

import yaml
from click.testing import CliRunner

from pomar.cli import cli

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _pomar_command_exists(args: list[str]) -> bool:
    result = CliRunner().invoke(cli, [*args, "--help"])
    return result.exit_code == 0


def test_the_compose_file_defines_the_coordinator_side_and_runs_real_commands() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "postgres", "coordinator", "server", "beat", "flower"}
    for name in ("coordinator", "beat"):
        assert _pomar_command_exists(
            services[name]["command"][:2] if name == "beat" else ["coordinator"]
        )
        env = services[name]["environment"]
        assert {"POMAR_BROKER_URL", "POMAR_STORE_URL", "POMAR_ARTIFACTS_URL"} <= set(env)
    assert "--requirepass" in services["redis"]["command"]


def test_the_compose_server_serves_the_api_with_the_farm_settings() -> None:
    server = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]["server"]
    assert server["command"][0] == "serve"
    assert _pomar_command_exists(["serve"])
    assert {"POMAR_BROKER_URL", "POMAR_STORE_URL", "POMAR_ARTIFACTS_URL"} <= set(
        server["environment"]
    )
    port = server["command"][server["command"].index("--port") + 1]
    assert server["ports"] == [f"{port}:{port}"]
    assert "/api/v1/health" in " ".join(server["healthcheck"]["test"])
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert '".[torch,farm,serve]"' in dockerfile
    for package in ("pomar_core", "orchestrator", "pomar"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_the_launchd_agent_runs_pomar_agent_and_is_kept_alive() -> None:
    plist = plistlib.loads((DEPLOY / "launchd" / "dev.pomar.agent.plist").read_bytes())
    assert plist["ProgramArguments"][1] == "agent"
    assert _pomar_command_exists(["agent"])
    assert plist["KeepAlive"] is True
    assert "POMAR_BROKER_URL" in plist["EnvironmentVariables"]


def test_the_systemd_units_start_existing_pomar_commands() -> None:
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read(unit)
        exec_start = shlex.split(parser["Service"]["ExecStart"])
        assert exec_start[0].endswith("/pomar"), unit.name
        words = [w for w in exec_start[1:] if not w.startswith("-")][:2]
        command = words if words[0] == "schedule" else words[:1]
        assert _pomar_command_exists(command), unit.name
