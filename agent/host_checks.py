"""``pomar doctor``, the device-host side: on a Mac, Xcode (building and signing the harness),
the signed harness app, and for iOS 17+ phones the tunnel daemon. Elsewhere each check is
skipped saying so, never reported as passing."""

from __future__ import annotations

import platform
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from agent.devices.ios.bundle import harness_config
from agent.devices.ios.config import IosConfig
from pomar_core.errors import UsageError
from pomar_core.health import HealthCheck, failed, passed, skipped

Runner = Callable[[list[str]], tuple[int, str]]
"""argv → (exit status, first line of output)."""
NOT_MACOS = "not macOS"
PMD3 = "python -m pymobiledevice3"


def run_command(argv: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, f"{exc.__class__.__name__}: {exc}"
    text = (done.stdout or done.stderr).strip().splitlines()
    return done.returncode, text[0] if text else ""


def host_checks(
    ipa: Path | None,
    *,
    system: str | None = None,
    run: Runner = run_command,
    tunneld: tuple[str, int] = IosConfig().tunneld_address,
) -> list[HealthCheck]:
    if (system or platform.system()) != "Darwin":
        return [skipped(n, NOT_MACOS) for n in ("xcode", "harness app", "tunnel daemon")]
    return [check_xcode(run), check_harness_app(ipa), check_tunneld(tunneld)]


def check_xcode(run: Runner) -> HealthCheck:
    status, line = run(["xcrun", "xcodebuild", "-version"])
    if status != 0:
        return failed(
            "xcode",
            f"xcodebuild does not run ({line or f'exit {status}'})",
            "install Xcode 15.4+ from the App Store, then `sudo xcode-select -s "
            "/Applications/Xcode.app` and open it once to accept the licence",
        )
    return passed("xcode", line)


def check_harness_app(ipa: Path | None) -> HealthCheck:
    name = "harness app"
    if ipa is None:
        return failed(
            name,
            "no signed harness app given (POMAR_HARNESS_APP / --ipa)",
            "build it with `ios_harness/scripts/build_ipa.sh TEAMID` and set "
            "POMAR_HARNESS_APP=PomarHarness.ipa",
        )
    try:
        config = harness_config(ipa)
    except UsageError as exc:
        return failed(name, exc.one_line(), "rebuild it with ios_harness/scripts/build_ipa.sh")
    return passed(name, f"{ipa}: {config.bundle_id} {config.app_version}")


def check_tunneld(address: tuple[str, int]) -> HealthCheck:
    host, port = address
    try:
        with socket.create_connection((host, port), timeout=2.0):
            pass
    except OSError as exc:
        return failed(
            "tunnel daemon",
            f"nothing answers at {host}:{port} ({exc.__class__.__name__}); iOS 17+ phones then "
            "get one userspace tunnel per worker process",
            f"run `sudo {PMD3} remote tunneld` once on this host (as a launchd daemon to keep it)",
        )
    return passed("tunnel daemon", f"tunneld answers at {host}:{port}")
