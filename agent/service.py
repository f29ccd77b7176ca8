"""``pomar agent install-service``: keep an agent running for the current user — a launchd
agent on macOS (``~/Library/LaunchAgents``), a systemd user unit on Linux
(``~/.config/systemd/user``) — with the farm's environment, log files and a restart policy.

The file holds the broker URL (with its password), so it is written readable by the user only.
"""

from __future__ import annotations

import os
import plistlib
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pomar_core.errors import UsageError

LABEL = "dev.pomar.agent"
UNIT = "pomar-agent.service"
RESTART_DELAY_S = 10
PASSED_ON = (
    "POMAR_BROKER_URL",
    "POMAR_STORE_URL",
    "POMAR_ARTIFACTS_URL",
    "POMAR_DATA_DIR",
    "POMAR_HARNESS_APP",
    "POMAR_METRICS_PORT",
    "POMAR_METRICS_ADDRESS",
    "POMAR_LOG_FORMAT",
    "USBMUXD_SOCKET_ADDRESS",
)
"""The variables the agent reads, copied from the environment ``install-service`` runs in."""


@dataclass(frozen=True)
class AgentService:
    """What the service runs, with what, and where it logs."""

    system: str
    """``Darwin`` (launchd) or ``Linux`` (systemd --user)."""
    program: Path
    """The ``pomar`` console script."""
    agent_args: tuple[str, ...]
    environment: dict[str, str]
    home: Path

    @property
    def log_path(self) -> Path:
        if self.system == "Darwin":
            return self.home / "Library" / "Logs" / "pomar" / "agent.log"
        return self.home / ".local" / "state" / "pomar" / "agent.log"

    @property
    def path(self) -> Path:
        if self.system == "Darwin":
            return self.home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
        return self.home / ".config" / "systemd" / "user" / UNIT

    @property
    def argv(self) -> list[str]:
        return [str(self.program), "agent", *self.agent_args]

    def render(self) -> str:
        return launchd_plist(self) if self.system == "Darwin" else systemd_unit(self)

    def next_steps(self) -> str:
        if self.system == "Darwin":
            return (
                f"launchctl bootout gui/$(id -u)/{LABEL} 2>/dev/null; "
                f"launchctl bootstrap gui/$(id -u) {self.path}"
            )
        return (
            f"systemctl --user daemon-reload && systemctl --user enable --now {UNIT} "
            "(and `loginctl enable-linger $USER` to keep it running after logout)"
        )


def agent_service(
    system: str,
    program: Path | None,
    agent_args: Sequence[str],
    environ: Mapping[str, str],
    home: Path,
) -> AgentService:
    """The service for this user; a ``UsageError`` on an OS without launchd or systemd, without
    a broker, or without the ``pomar`` program."""
    if system not in ("Darwin", "Linux"):
        raise UsageError(
            f"install-service knows launchd (macOS) and systemd (Linux), not {system}",
            hint="start `pomar agent` with your OS's service manager by hand",
        )
    if not environ.get("POMAR_BROKER_URL"):
        raise UsageError(
            "install-service needs POMAR_BROKER_URL set: the agent serves a farm",
            hint="export POMAR_BROKER_URL=redis://:PASSWORD@host:6379/0 and rerun",
        )
    if program is None:
        raise UsageError(
            "cannot find the `pomar` program to run",
            hint="install Pomar into a virtualenv (pip install 'pomar[ios]') and run its pomar",
        )
    env = {k: environ[k] for k in PASSED_ON if environ.get(k)}
    return AgentService(system, program.resolve(), tuple(agent_args), env, home)


def launchd_plist(service: AgentService) -> str:
    plist = {
        "Label": LABEL,
        "ProgramArguments": service.argv,
        "EnvironmentVariables": service.environment,
        "RunAtLoad": True,
        "KeepAlive": True,
        "ThrottleInterval": RESTART_DELAY_S,
        "ProcessType": "Interactive",
        "StandardOutPath": str(service.log_path),
        "StandardErrorPath": str(service.log_path),
    }
    return plistlib.dumps(plist, sort_keys=False).decode()


def systemd_unit(service: AgentService) -> str:
    env = "\n".join(
        f"Environment={_systemd_quote(f'{k}={v}')}" for k, v in service.environment.items()
    )
    return f"""[Unit]
Description=Pomar agent ({shlex.join(service.agent_args).replace("%", "%%") or "default devices"})
After=network-online.target
Wants=network-online.target

[Service]
{env}
ExecStart={shlex.join(service.argv).replace("%", "%%")}
KillSignal=SIGTERM
TimeoutStopSec=60
Restart=always
RestartSec={RESTART_DELAY_S}
StandardOutput=append:{service.log_path}
StandardError=append:{service.log_path}

[Install]
WantedBy=default.target
"""


def _systemd_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'"{escaped}"'


def write_service(service: AgentService) -> Path:
    """Write the file (mode 0600: it holds the broker password) and make the log folder."""
    service.log_path.parent.mkdir(parents=True, exist_ok=True)
    service.path.parent.mkdir(parents=True, exist_ok=True)
    partial = service.path.with_name(f".{service.path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(service.render())
    partial.replace(service.path)
    return service.path
