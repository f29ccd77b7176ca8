"""The devices this host offers when Pomar runs embedded: the emulator, and more when there.

``pomar check`` without a broker runs on these. Device ids name them: ``emulated-0``
(also just ``emulated``), and on macOS ``mac`` for the host's Core ML: whatever the
registered backends (``agent.devices.REGISTERED``) offer locally.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.device import Device
from agent.devices import backends
from agent.executor import DeviceRunExecutor
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import SelectorError

DEFAULT_DEVICES = ("emulated-0",)


def local_devices(ids: Sequence[str]) -> list[Device]:
    """The devices named by ``ids`` (default: the emulator), each from the first registered
    backend that knows the id; a ``SelectorError`` for others."""
    devices: list[Device] = []
    for raw in ids or DEFAULT_DEVICES:
        name = raw.strip()
        found = next((d for b in backends() if (d := b.local_device(name)) is not None), None)
        if found is None:
            known = ", ".join(i for b in backends() if (i := b.local_ids()) is not None)
            raise SelectorError(
                f"no local device '{name}' (this host offers: {known})",
                hint="run a farm (POMAR_BROKER_URL) to reach iPhones, or pick a local device",
            )
        devices.append(found)
    unique = {d.info.udid: d for d in devices}
    return list(unique.values())


def local_executors(
    devices: Sequence[Device], artifacts: ArtifactStore, cache_dir: Path
) -> list[DeviceRunExecutor]:
    return [DeviceRunExecutor(d, artifacts, cache_dir / "models") for d in devices]
