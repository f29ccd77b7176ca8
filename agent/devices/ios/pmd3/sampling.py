"""Memory and CPU of one process: DVT sysmontap on a DTX connection of its own."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pymobiledevice3.services.dvt.instruments.device_info import DeviceInfo
from pymobiledevice3.services.dvt.instruments.dvt_provider import DvtProvider
from pymobiledevice3.services.dvt.instruments.sysmontap import Sysmontap

from agent.devices.ios.pmd3.background import BackgroundCollection
from agent.devices.ios.pmd3.connection import Pmd3Service
from agent.devices.ios.services.sampling import ProcSample

SAMPLED_ATTRIBUTES = ("pid", "physFootprint", "cpuUsage")


class SysmonSamples:
    """The samples of one pid out of sysmontap's per-row process dicts.

    VERIFIED row layout (services/dvt/instruments/sysmontap.py): Sysmontap builds a dataclass
    from the process attributes we request, in our order, and iter_processes() yields, per
    sample row that has "Processes", one dict per process keyed by exactly those names (values
    mapped by position, as the device returns them). So "pid"/"physFootprint"/"cpuUsage" are
    the keys; units (bytes, percent of a core) are the device's and not stated in the library.
    """

    def __init__(self, pid: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.pid = pid
        self.samples: list[ProcSample] = []
        self._clock = clock
        self._started = clock()

    def add_row(self, processes: Iterable[Mapping[str, Any]]) -> None:
        """One sysmontap row: keep the entry of our pid, when it has a footprint."""
        for process in processes:
            if process.get("pid") == self.pid and process.get("physFootprint"):
                cpu = process.get("cpuUsage")
                first = not self.samples  # sysmontap's first cpuUsage is meaningless
                self.samples.append(
                    ProcSample(
                        self._clock() - self._started,
                        int(process["physFootprint"]),
                        None if first or cpu is None else float(cpu),
                    )
                )


def wanted_attributes(supported: Iterable[str]) -> list[str]:
    """The process attributes to ask sysmontap for: ours, where this device supports them."""
    have = set(supported)
    return [a for a in SAMPLED_ATTRIBUTES if a in have]


class Pmd3Sampling(Pmd3Service):
    """:class:`~agent.devices.ios.services.sampling.MemorySampling` over sysmontap."""

    def start_sampling(self, pid: int, interval_ms: int) -> BackgroundCollection[ProcSample]:
        collected = SysmonSamples(pid)

        async def go() -> None:
            # A DTX connection of its own, so sampling never blocks launch/kill/poll.
            async with DvtProvider(await self.connection.developer_provider()) as dvt:
                async with DeviceInfo(dvt) as device_info:
                    wanted = wanted_attributes(await device_info.sysmon_process_attributes())
                    system = list(await device_info.sysmon_system_attributes())
                async with Sysmontap(dvt, wanted, system, interval_ms=interval_ms) as tap:
                    async for processes in tap.iter_processes():
                        collected.add_row(processes)

        future = self.connection.spawn(go, "sampling memory")
        return BackgroundCollection(collected.samples, future)
