"""The devices this host offers when Pomar runs embedded: the emulator, and more when there.

``pomar check`` without a broker runs on these. Device ids name them: ``emulated-0``
(also just ``emulated``), and on macOS ``mac`` for the host's Core ML.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from agent.device import Device
from agent.devices.emulated.device import EmulatedDevice
from agent.executor import DeviceRunExecutor
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import SelectorError

DEFAULT_DEVICES = ("emulated-0",)


def local_devices(ids: Sequence[str]) -> list[Device]:
    """The devices named by ``ids`` (default: the emulator); a ``SelectorError`` for others."""
    devices: list[Device] = []
    for raw in ids or DEFAULT_DEVICES:
        name = raw.strip()
        if name in ("emulated", "emulator"):
            name = "emulated-0"
        if name.startswith("emulated-") and name.removeprefix("emulated-").isdigit():
            devices.append(EmulatedDevice(int(name.removeprefix("emulated-"))))
        elif name == "mac" and sys.platform == "darwin":
            from agent.devices.mac.device import MacDevice

            devices.append(MacDevice())
        else:
            known = "emulated-N" + (", mac" if sys.platform == "darwin" else "")
            raise SelectorError(
                f"no local device '{name}' (this host offers: {known})",
                hint="run a farm (POMAR_BROKER_URL) to reach iPhones, or pick a local device",
            )
    unique = {d.info.udid: d for d in devices}
    return list(unique.values())


def local_executors(
    devices: Sequence[Device], artifacts: ArtifactStore, cache_dir: Path
) -> list[DeviceRunExecutor]:
    return [DeviceRunExecutor(d, artifacts, cache_dir / "models") for d in devices]
