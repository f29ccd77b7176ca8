"""A :class:`~agent.devices.ios.transport.DeviceSession` on a :class:`FakeIPhone`: every service
of ``agent.devices.ios.services``, with the errors a real phone in that state would raise."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from agent.devices.ios.fake.app import run_app
from agent.devices.ios.fake.phone import FakeIPhone, FakeProcess
from agent.devices.ios.services.files import documents_relative, push_plan
from agent.devices.ios.services.reports import CrashReportRef, LogLine, is_crash_report, is_newer
from agent.devices.ios.services.sampling import ProcSample
from agent.devices.ios.services.status import DeviceFacts, Readiness
from pomar_core import catalog
from pomar_core.errors import AppNotInstalled, DeviceLost, DeviceNotReady, TransientDeviceError


class FakeSampler:
    """The footprints the process went through, spread over the time sampling ran."""

    def __init__(self, proc: FakeProcess, started: float, scale: float = 1.0) -> None:
        self._proc = proc
        self._started = started
        self._scale = scale
        """``FakeScenario.footprint_scale``: sampling off by a unit mix-up."""

    def stop(self) -> list[ProcSample]:
        elapsed = time.monotonic() - self._started
        points = [int(b * self._scale) for b in self._proc.footprints]
        step = elapsed / max(len(points), 1)
        return [ProcSample(i * step, b, None if i == 0 else 100.0) for i, b in enumerate(points)]


class FakeLogStream:
    def __init__(self, lines: list[LogLine]) -> None:
        self._lines = lines

    def stop(self) -> list[LogLine]:
        return list(self._lines)


class FakeSession:
    """One open :class:`FakeIPhone`. The ``_require_*`` guards are where a scenario about the
    device's state (locked, no Developer Mode, no app…) turns into the error a verb raises."""

    def __init__(self, device: FakeIPhone) -> None:
        self.device = device

    @property
    def udid(self) -> str:
        return self.device.udid

    # -- guards ------------------------------------------------------------------------------

    def _require_connected(self) -> FakeIPhone:
        if not self.device.connected:
            raise DeviceLost(
                "the iPhone disconnected",
                device_udid=self.udid,
                hint="reconnect the cable; the run is retried on another device",
            )
        return self.device

    def _require_developer(self) -> FakeIPhone:
        d = self._require_connected()
        if d.scenario.locked:
            raise DeviceNotReady(
                "the iPhone is locked",
                device_udid=self.udid,
                hint="unlock it and set Auto-Lock to Never",
            )
        if not d.scenario.developer_mode:
            raise DeviceNotReady(
                "Developer Mode is off",
                device_udid=self.udid,
                hint="Settings > Privacy & Security > Developer Mode",
            )
        if not d.disk_image_mounted:
            raise DeviceNotReady(
                "no developer disk image is mounted",
                device_udid=self.udid,
                hint="python -m pymobiledevice3 mounter auto-mount",
            )
        return d

    def _require_app(self, bundle_id: str) -> FakeIPhone:
        d = self._require_connected()
        if d.installed_version is None:
            raise AppNotInstalled(
                f"{bundle_id} is not installed",
                device_udid=self.udid,
                hint="pomar devices --check --install",
            )
        return d

    # -- status ------------------------------------------------------------------------------

    def facts(self) -> DeviceFacts:
        d = self._require_connected()
        model = catalog.lookup_iphone(d.product_type)
        return DeviceFacts(
            udid=d.udid,
            product_type=d.product_type,
            ios_version=d.ios_version,
            marketing_name=model.marketing_name if model else d.product_type,
            chip=model.chip if model else None,
            ram_bytes=model.ram_bytes if model else None,
            app_memory_limit_bytes=model.app_memory_limit_bytes if model else None,
            device_name=f"Fake {d.udid[-4:]}",
            developer_mode=d.scenario.developer_mode,
            battery_level=d.scenario.battery_level,
            battery_temperature_c=30.0,
            free_bytes=d.scenario.free_bytes,
            low_power_mode=d.scenario.low_power_mode,
            thermal_state=d.scenario.thermal_state,
        )

    def readiness(self, bundle_id: str) -> Readiness:
        d = self._require_connected()
        s = d.scenario
        if s.developer_mode and not d.disk_image_mounted and s.disk_image_mountable:
            d.disk_image_mounted = True  # what auto-mount does
        return Readiness(
            paired=s.paired,
            unlocked=not s.locked,
            developer_mode=s.developer_mode,
            disk_image_mounted=d.disk_image_mounted,
            tunnel=True,
            app_version=d.installed_version,
            free_bytes=s.free_bytes,
        )

    # -- apps --------------------------------------------------------------------------------

    def install_app_if_version_differs(self, app_path: Path, bundle_id: str, version: str) -> bool:
        d = self._require_connected()
        if d.installed_version == version:
            return False
        d.installed_version = version
        d.installs += 1
        return True

    # -- files -------------------------------------------------------------------------------

    def write_files(self, bundle_id: str, files: Mapping[str, bytes]) -> int:
        d = self._require_app(bundle_id)
        for path, data in files.items():
            d.write(path, data)
        d.bytes_pushed += sum(len(v) for v in files.values())
        return sum(len(v) for v in files.values())

    def push_tree(self, bundle_id: str, local: Path, remote: str) -> int:
        d = self._require_app(bundle_id)
        total = 0
        for path, target in push_plan(local, remote):
            data = path.read_bytes()
            d.write(target, data)
            total += len(data)
        d.bytes_pushed += total
        return total

    def read_file(self, bundle_id: str, path: str) -> bytes | None:
        d = self._require_app(bundle_id)
        with d.lock:
            return d.files.get(documents_relative(path))

    def list_dir(self, bundle_id: str, path: str) -> list[str]:
        d = self._require_app(bundle_id)
        prefix = documents_relative(path) + "/"
        with d.lock:
            names = {k[len(prefix) :].split("/", 1)[0] for k in d.files if k.startswith(prefix)}
        return sorted(names)

    def remove(self, bundle_id: str, path: str) -> None:
        d = self._require_app(bundle_id)
        path = documents_relative(path)
        with d.lock:
            for key in [k for k in d.files if k == path or k.startswith(path + "/")]:
                del d.files[key]

    # -- processes ---------------------------------------------------------------------------

    def launch(self, bundle_id: str, arguments: list[str]) -> int:
        d = self._require_developer()
        self._require_app(bundle_id)
        proc = d.new_process(bundle_id)
        run_id = arguments[arguments.index("--pomar-run") + 1] if "--pomar-run" in arguments else ""
        threading.Thread(
            target=run_app, args=(d, proc, run_id), name=f"fake-app-{proc.pid}", daemon=True
        ).start()
        return proc.pid

    def kill(self, pid: int) -> None:
        d = self._require_developer()
        proc = d.processes.get(pid)
        if proc is None:
            raise TransientDeviceError(f"no process {pid}", device_udid=self.udid)
        proc.killed.set()
        proc.exited.wait(5)

    def is_running(self, pid: int) -> bool:
        d = self._require_developer()
        proc = d.processes.get(pid)
        return proc is not None and not proc.exited.is_set()

    # -- sampling ----------------------------------------------------------------------------

    def start_sampling(self, pid: int, interval_ms: int) -> FakeSampler:
        d = self._require_developer()
        return FakeSampler(d.processes[pid], time.monotonic(), d.scenario.footprint_scale)

    # -- reports -----------------------------------------------------------------------------

    def crash_reports(self, since: datetime | None = None) -> list[CrashReportRef]:
        d = self._require_connected()
        with d.lock:
            return [
                CrashReportRef(path, mtime)
                for path, (_, mtime) in sorted(d.crash_reports.items())
                if is_crash_report(path) and is_newer(mtime, since)
            ]

    def read_crash_report(self, path: str) -> str:
        d = self._require_connected()
        return d.crash_reports[path][0]

    def stream_log(
        self, pid: int, on_line: Callable[[LogLine], None] | None = None
    ) -> FakeLogStream:
        line = LogLine(pid, f"pomar harness {pid} started")
        if on_line:
            on_line(line)
        return FakeLogStream([line])

    def close(self) -> None:
        pass
