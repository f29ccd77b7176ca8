"""Battery and Low Power Mode of the host Mac, read from ``pmset`` (macOS only).

What the iPhone app reads from ``ProcessInfo`` has no Python binding here: ``thermalState`` is
not reachable without PyObjC (not a dependency), so the Mac reports no thermal state.
``isLowPowerModeEnabled`` is mirrored by ``pmset -g``'s ``lowpowermode`` line (macOS 12+), and
the battery by ``pmset -g batt``. A desktop Mac has no battery: its level is None. Off macOS, or
when ``pmset`` fails, every field is None.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from pomar_core.wire import RunEnvironment

Command = Callable[[list[str]], str | None]
"""Runs a command and returns its stdout, or None when it could not run."""


@dataclass(frozen=True)
class PowerState:
    battery_level: float | None = None
    """0..1; None on a desktop Mac or when unknown."""
    low_power_mode: bool | None = None


def run_command(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


_BATTERY = re.compile(r"InternalBattery-\d+.*?\t(\d{1,3})%;")
_LOW_POWER = re.compile(r"^\s*lowpowermode\s+(\d+)\s*$", re.MULTILINE)
# Macs with a High Power Mode (16" M1 Max and later) show `powermode` instead, where 1 is Low
# Power; from Apple's pmset man page wording as reported by users, not verified on such a Mac.
_POWER_MODE = re.compile(r"^\s*powermode\s+(\d+)\s*$", re.MULTILINE)


def parse_battery(pmset_batt: str) -> float | None:
    """The internal battery's charge from ``pmset -g batt``, 0..1."""
    match = _BATTERY.search(pmset_batt)
    return int(match.group(1)) / 100 if match else None


def parse_low_power_mode(pmset_g: str) -> bool | None:
    """Low Power Mode from ``pmset -g``: ``lowpowermode 1`` or ``powermode 1``."""
    match = _LOW_POWER.search(pmset_g) or _POWER_MODE.search(pmset_g)
    return match.group(1) == "1" if match else None


def power_state(command: Command = run_command) -> PowerState:
    """Battery and Low Power Mode now; None for what ``pmset`` does not say."""
    batt = command(["/usr/bin/pmset", "-g", "batt"])
    settings = command(["/usr/bin/pmset", "-g"])
    return PowerState(
        battery_level=parse_battery(batt) if batt else None,
        low_power_mode=parse_low_power_mode(settings) if settings else None,
    )


def mac_run_environment(before: PowerState, after: PowerState) -> RunEnvironment | None:
    """The run's environment, or None when ``pmset`` told us nothing (e.g. not a Mac)."""
    seen = [v for v in (before.low_power_mode, after.low_power_mode) if v is not None]
    env = RunEnvironment(
        battery_before=before.battery_level,
        battery_after=after.battery_level,
        low_power_mode=any(seen) if seen else None,
    )
    return None if env == RunEnvironment() else env
