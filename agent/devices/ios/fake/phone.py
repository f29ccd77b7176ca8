"""A fake iPhone's state: its app's Documents, processes, crash reports and connection."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from agent.devices.ios.fake.predictor import Predictor, emulator_predictor
from agent.devices.ios.fake.scenario import FakeScenario
from agent.devices.ios.services.files import documents_relative

MIB = 1024**2
BASELINE_BYTES = 24 * MIB
"""The harness app's footprint before it loads a model."""


@dataclass
class FakeProcess:
    """One launch of the fake harness app."""

    pid: int
    bundle_id: str
    killed: threading.Event = field(default_factory=threading.Event)
    exited: threading.Event = field(default_factory=threading.Event)
    footprints: list[int] = field(default_factory=lambda: [BASELINE_BYTES])
    """Footprints the app went through, in order (what sampling reports)."""


class FakeIPhone:
    """The device's state: Documents, processes, crash reports, connection."""

    _pids = itertools.count(401)

    def __init__(
        self,
        udid: str,
        product_type: str = "iPhone15,2",
        ios_version: str = "17.5.1",
        scenario: FakeScenario | None = None,
        predictor: Predictor | None = None,
    ) -> None:
        self.udid = udid
        self.product_type = product_type
        self.ios_version = ios_version
        self.scenario = scenario or FakeScenario()
        self.predictor = predictor or emulator_predictor
        self.connected = True
        self.installed_version: str | None = (
            self.scenario.app_version if self.scenario.app_installed else None
        )
        self.disk_image_mounted = self.scenario.disk_image_mounted
        self.files: dict[str, bytes] = {}
        """Documents, keyed by path relative to it."""
        self.crash_reports: dict[str, tuple[str, datetime]] = {}
        """CrashReporter path → (text, modified)."""
        self.processes: dict[int, FakeProcess] = {}
        self.bytes_pushed = 0
        self.installs = 0
        self.launches = 0
        self.lock = threading.RLock()

    # -- scripting ---------------------------------------------------------------------------

    def disconnect(self) -> None:
        with self.lock:
            self.connected = False
            for proc in self.processes.values():
                proc.killed.set()

    def reconnect(self) -> None:
        with self.lock:
            self.connected = True

    # -- processes ---------------------------------------------------------------------------

    def new_process(self, bundle_id: str) -> FakeProcess:
        """A fresh process for ``bundle_id``, killing running ones (``kill_existing``)."""
        with self.lock:
            for proc in self.processes.values():
                proc.killed.set()
            proc = FakeProcess(next(FakeIPhone._pids), bundle_id)
            self.processes[proc.pid] = proc
            self.launches += 1
        return proc

    # -- Documents ---------------------------------------------------------------------------

    def tree(self, prefix: str) -> dict[str, bytes]:
        """Every file under the folder ``prefix``."""
        with self.lock:
            start = documents_relative(prefix) + "/"
            return {k: v for k, v in self.files.items() if k.startswith(start)}

    def write(self, path: str, data: bytes) -> None:
        with self.lock:
            self.files[documents_relative(path)] = data

    def materialise(self, remote: str, tmp: Path) -> Path:
        """Copy the file or folder ``remote`` out of Documents into ``tmp``; the local path."""
        files = self.tree(remote)
        local = tmp / remote.rsplit("/", 1)[-1]
        if not files and remote in self.files:
            local.write_bytes(self.files[remote])
            return local
        for path, data in files.items():
            target = local / path[len(remote) + 1 :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return local

    # -- CrashReporter -----------------------------------------------------------------------

    def add_crash_report(self, name: str, text: str) -> None:
        with self.lock:
            self.crash_reports[f"/{name}"] = (text, datetime.now(UTC))
