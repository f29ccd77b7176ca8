"""The ``Device`` interface: the few verbs every backend implements.

Backends live in ``agent/devices/`` (``emulated``, ``ios``, ``mac``). A backend runs one model
on one compute unit and reports what happened; fetching artifacts, retries, uploading outputs,
parity and bookkeeping live once, in the caller (``agent/executor.py``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

from pomar_core.arrays import Arrays
from pomar_core.wire import (
    ComputePlanEntry,
    ComputeUnit,
    DeviceInfo,
    MemoryStats,
    ModelRef,
    RunConfig,
    RunEnvironment,
    Timings,
)


class Outcome(StrEnum):
    """How a device run ended, before parity and budgets are judged."""

    COMPLETED = "completed"
    OOM_KILLED = "oom_killed"
    CRASHED = "crashed"
    TIMEOUT = "timeout"
    DEVICE_LOST = "device_lost"
    ERROR = "error"
    CANCELLED = "cancelled"
    """The farm asked the run to stop (``RunRequest.cancel``) and the device did."""


@dataclass(frozen=True)
class RunRequest:
    """One run, with its artifacts already on local disk / in memory."""

    run_id: str
    model: ModelRef
    model_path: Path
    """A local ``.mlpackage`` directory or ``.mlmodel`` file."""
    inputs: Arrays
    compute_unit: ComputeUnit
    config: RunConfig
    cancel: threading.Event | None = None
    """Set when the farm asks this run to stop (``pomar cancel``). Optional to honour: a
    backend that can stop checks it where stopping is safe (between timed iterations, while
    waiting for the app) and returns ``Outcome.CANCELLED``; one that cannot just finishes."""

    @property
    def cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()


@dataclass(frozen=True)
class RunOutcome:
    """What the device reports back for one run."""

    outcome: Outcome
    outputs: Arrays = field(default_factory=dict)
    timings: Timings = field(default_factory=Timings)
    memory: MemoryStats = field(default_factory=MemoryStats)
    compute_plan: tuple[ComputePlanEntry, ...] = ()
    thermal_state: str | None = None
    error: str | None = None
    """One line, for any outcome but ``completed``."""
    warnings: tuple[str, ...] = ()
    environment: RunEnvironment | None = None
    """Battery, thermal state and Low Power Mode around the run, where the backend can tell."""


@runtime_checkable
class Device(Protocol):
    """A thing that can run a Core ML model: an iPhone, the host Mac, or the emulator."""

    @property
    def info(self) -> DeviceInfo:
        """Facts about the device."""
        ...

    def check_ready(self) -> None:
        """Raise a ``DeviceError`` subclass saying what to fix if the device cannot run now."""
        ...

    def run(self, request: RunRequest) -> RunOutcome:
        """Run the model. Model failures are outcomes; only infrastructure failures raise."""
        ...
