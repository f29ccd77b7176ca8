"""Background sampling of one process's memory footprint and CPU."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ProcSample:
    """One sysmontap sample of one process."""

    t_s: float
    """Seconds since sampling started (host monotonic clock)."""
    phys_footprint_bytes: int
    cpu_percent: float | None = None
    """Percent of one core; None for the first sample, which sysmontap gets wrong."""


class Sampler(Protocol):
    """Background sampling of one process, started by :meth:`MemorySampling.start_sampling`."""

    def stop(self) -> list[ProcSample]:
        """Stop and return every sample taken. Never raises for a vanished process."""
        ...


class MemorySampling(Protocol):
    def start_sampling(self, pid: int, interval_ms: int) -> Sampler: ...
