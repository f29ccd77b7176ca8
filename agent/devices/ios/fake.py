"""A scripted fake iPhone with the same transport/session interface as the real adapter.

It honours the harness protocol: on ``launch(bundle, ["--pomar-run", id])`` a background thread
plays the app — reads ``job.json`` and the inputs from its in-memory Documents, "runs" the model
(with the CPU emulator by default), writes the outputs, ``result.json`` and ``DONE``, and exits.
A :class:`FakeScenario` scripts what goes wrong: a locked device, no developer mode, no disk
image, a missing app, a slow run, a hang, a crash, a jetsam kill above a memory level, a
disconnect mid-run, Low Power Mode or heat. Used by the tests and by ``pomar agent --fake-ios N``.
"""

from __future__ import annotations

import itertools
import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from agent.devices.ios.config import IosConfig
from agent.devices.ios.npy import from_npy_bytes, to_npy_bytes
from agent.devices.ios.transport import (
    CrashReportRef,
    DeviceEvent,
    DeviceEventKind,
    DeviceFacts,
    DeviceRef,
    LogLine,
    ProcSample,
    Readiness,
)
from pomar_core import catalog
from pomar_core.arrays import Arrays
from pomar_core.errors import (
    AppNotInstalled,
    DeviceLost,
    DeviceNotReady,
    PomarError,
    TransientDeviceError,
)
from pomar_core.wire.base import DType
from pomar_core.wire.harness import (
    HARNESS_ROOT,
    HarnessEnvironment,
    HarnessJob,
    HarnessPhaseMemory,
    HarnessResult,
    HarnessTensor,
    HarnessTimings,
)

Predictor = Callable[[Path, Arrays, str], Arrays]
"""(local model path, inputs, compute unit) → outputs."""

MIB = 1024**2
BASELINE_BYTES = 24 * MIB


def emulator_predictor(model_path: Path, inputs: Arrays, compute_unit: str) -> Arrays:
    """Run the model on the CPU emulator: fp32 for ``cpu``, fp16 for the accelerators."""
    import coreml_emulator as emulator  # heavy; only when a fake run needs it

    precision = "fp32" if compute_unit == "cpu" else "fp16"
    return emulator.predict(model_path, inputs, precision=precision)


@dataclass(frozen=True)
class FakeScenario:
    """What this fake iPhone does. Defaults: a healthy, ready device that runs fast."""

    paired: bool = True
    locked: bool = False
    developer_mode: bool = True
    disk_image_mounted: bool = True
    disk_image_mountable: bool = True
    """``readiness`` mounts the image, as the real adapter's auto-mount does."""
    app_installed: bool = True
    app_version: str = "1.0"
    free_bytes: int = 32 * 1024**3
    battery_level: float = 0.8
    battery_state: Literal["unknown", "unplugged", "charging", "full"] = "unplugged"
    low_power_mode: bool = False
    thermal_state: str = "nominal"
    run_delay_s: float = 0.0
    """Run slowly: the app takes this long before writing results."""
    hang: bool = False
    crash: bool = False
    app_error: str | None = None
    """The app reports ``status: error`` with this message (``FAILED`` sentinel)."""
    disconnect_during_run: bool = False
    peak_bytes: int | None = None
    """Simulated peak footprint; default: baseline + 3 × the model's size."""
    jetsam_limit_bytes: int | None = None
    """Jetsam kills the app when its peak exceeds this."""


@dataclass
class _Process:
    pid: int
    bundle_id: str
    killed: threading.Event = field(default_factory=threading.Event)
    exited: threading.Event = field(default_factory=threading.Event)
    footprints: list[int] = field(default_factory=lambda: [BASELINE_BYTES])


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
        self.crash_reports: dict[str, tuple[str, datetime]] = {}
        self.processes: dict[int, _Process] = {}
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

    # -- file system (paths relative to Documents) ----------------------------------------------

    def tree(self, prefix: str) -> dict[str, bytes]:
        with self.lock:
            start = prefix.rstrip("/") + "/"
            return {k: v for k, v in self.files.items() if k.startswith(start)}

    def _write(self, path: str, data: bytes) -> None:
        with self.lock:
            self.files[path.strip("/")] = data

    # -- the app --------------------------------------------------------------------------------

    def _app_main(self, proc: _Process, run_id: str) -> None:
        try:
            self._play(proc, run_id)
        finally:
            with self.lock:
                proc.exited.set()

    def _play(self, proc: _Process, run_id: str) -> None:
        s = self.scenario
        folder = f"{HARNESS_ROOT}/jobs/{run_id}"
        raw = self.files.get(f"{folder}/job.json")
        if raw is None:
            return  # the real app exits when launched without a job
        job = HarnessJob.model_validate_json(raw)
        if proc.killed.wait(s.run_delay_s):
            return
        if s.hang:
            proc.killed.wait()
            return
        if s.disconnect_during_run:
            self.disconnect()
            return
        if s.crash:
            self._report(f"Harness-{_stamp()}.ips", _crash_ips(proc.pid, proc.bundle_id))
            return
        model_bytes = sum(len(v) for v in self.tree(f"{HARNESS_ROOT}/{job.model_path}").values())
        peak = s.peak_bytes or BASELINE_BYTES + 3 * max(model_bytes, len(raw))
        proc.footprints.append(peak)
        if s.jetsam_limit_bytes is not None and peak > s.jetsam_limit_bytes:
            proc.footprints[-1] = s.jetsam_limit_bytes
            self._report(
                f"JetsamEvent-{_stamp()}.ips",
                _jetsam_ips(proc.pid, self.product_type, s.jetsam_limit_bytes),
            )
            return
        self._finish(job, folder, peak)

    def _finish(self, job: HarnessJob, folder: str, peak: int) -> None:
        s = self.scenario
        outputs: Arrays = {}
        error: str | None = s.app_error
        phase: Any = "predict" if error else None
        if error is None:
            try:
                inputs = {
                    t.name: from_npy_bytes(self.files[f"{folder}/{t.file}"]) for t in job.inputs
                }
                with tempfile.TemporaryDirectory(prefix="pomar-fake-") as tmp:
                    local = self._materialise(f"{HARNESS_ROOT}/{job.model_path}", Path(tmp))
                    outputs = self.predictor(local, inputs, str(job.compute_unit))
            except PomarError as exc:
                error, phase = exc.one_line(), "load"
            except Exception as exc:  # the app reports whatever Core ML throws
                error, phase = f"{type(exc).__name__}: {exc}", "predict"
        tensors = []
        for name in job.output_names:
            if name in outputs:
                array = outputs[name]
                rel = f"outputs/{name}.npy"
                self._write(f"{folder}/{rel}", to_npy_bytes(array))
                tensors.append(
                    HarnessTensor(
                        name=name, file=rel, dtype=DType(str(array.dtype)), shape=array.shape
                    )
                )
        iters = [1_000_000 + 1000 * i for i in range(job.iterations)]
        # The fake has no Core ML, so no compute plan; the real app says why in warnings too.
        plan_warning = (
            f"compute plan: needs iOS 17.4, this is {self.ios_version}"
            if _version(self.ios_version) < (17, 4)
            else "compute plan: the fake iPhone does not make one"
        )
        result = HarnessResult(
            run_id=job.run_id,
            status="error" if error else "ok",
            error=error,
            error_phase=phase,
            timings=None
            if error
            else HarnessTimings(
                cold_load_ns=50_000_000,
                warm_load_ns=5_000_000,
                first_prediction_ns=3_000_000,
                warmup_ns=tuple(1_200_000 for _ in range(job.warmup)),
                prediction_ns=tuple(iters),
            ),
            memory=HarnessPhaseMemory(
                before_load_bytes=BASELINE_BYTES,
                after_load_bytes=(BASELINE_BYTES + peak) // 2,
                after_predictions_bytes=peak,
                peak_bytes=peak,
                available_before_bytes=(catalog.app_memory_limit_bytes(self.product_type) or 0)
                - BASELINE_BYTES,
            ),
            outputs=tuple(tensors),
            environment=HarnessEnvironment(
                thermal_state_by_phase={"start": s.thermal_state, "end": s.thermal_state},
                low_power_mode=s.low_power_mode,
                battery_level=s.battery_level,
                battery_state=s.battery_state,
                os_version=self.ios_version,
                device_model=self.product_type,
                app_version=self.installed_version or "",
            ),
            warnings=() if error else (plan_warning,),
        )
        self._write(f"{folder}/result.json", result.model_dump_json().encode())
        self._write(f"{folder}/{'FAILED' if error else 'DONE'}", b"")

    def _materialise(self, remote: str, tmp: Path) -> Path:
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

    def _report(self, name: str, text: str) -> None:
        with self.lock:
            self.crash_reports[f"/{name}"] = (text, datetime.now(UTC))


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d-%H%M%S%f")


def _jetsam_ips(pid: int, product: str, footprint: int) -> str:
    page = 16384
    header = {
        "bug_type": "298",
        "timestamp": datetime.now(UTC).isoformat(),
        "os_version": "iPhone OS 17.5.1 (21F90)",
        "incident_id": "FAKE",
    }
    body = {
        "product": product,
        "largestProcess": "Harness",
        "memoryStatus": {"pageSize": page, "memoryPages": {"free": 1000}},
        "processes": [
            {"name": "SpringBoard", "pid": 34, "rpages": 9000, "states": ["daemon"]},
            {
                "name": "Harness",
                "pid": pid,
                "rpages": footprint // page,
                "lifetimeMax": footprint // page,
                "reason": "per-process-limit",
                "states": ["frontmost"],
            },
        ],
    }
    return json.dumps(header) + "\n" + json.dumps(body, indent=2)


def _crash_ips(pid: int, bundle_id: str) -> str:
    header = {"app_name": "Harness", "bug_type": "309", "bundleID": bundle_id, "name": "Harness"}
    body = {
        "pid": pid,
        "procName": "Harness",
        "bundleInfo": {"CFBundleIdentifier": bundle_id},
        "exception": {
            "type": "EXC_BAD_ACCESS",
            "signal": "SIGSEGV",
            "subtype": "KERN_INVALID_ADDRESS",
        },
        "termination": {"namespace": "SIGNAL", "indicator": "Segmentation fault: 11"},
    }
    return json.dumps(header) + "\n" + json.dumps(body, indent=2)


class _FakeSampler:
    def __init__(self, proc: _Process, started: float) -> None:
        self._proc = proc
        self._started = started

    def stop(self) -> list[ProcSample]:
        elapsed = time.monotonic() - self._started
        points = list(self._proc.footprints)
        step = elapsed / max(len(points), 1)
        return [ProcSample(i * step, b, None if i == 0 else 100.0) for i, b in enumerate(points)]


class _FakeLogStream:
    def __init__(self, lines: list[LogLine]) -> None:
        self._lines = lines

    def stop(self) -> list[LogLine]:
        return list(self._lines)


class FakeSession:
    """A :class:`~agent.devices.ios.transport.DeviceSession` on a :class:`FakeIPhone`."""

    def __init__(self, device: FakeIPhone) -> None:
        self.device = device

    @property
    def udid(self) -> str:
        return self.device.udid

    def _check(self) -> FakeIPhone:
        if not self.device.connected:
            raise DeviceLost(
                "the iPhone disconnected",
                device_udid=self.udid,
                hint="reconnect the cable; the run is retried on another device",
            )
        return self.device

    def _check_developer(self) -> FakeIPhone:
        d = self._check()
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

    def facts(self) -> DeviceFacts:
        d = self._check()
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
        d = self._check()
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

    def install_app_if_version_differs(self, app_path: Path, bundle_id: str, version: str) -> bool:
        d = self._check()
        if d.installed_version == version:
            return False
        d.installed_version = version
        d.installs += 1
        return True

    def _app(self, bundle_id: str) -> FakeIPhone:
        d = self._check()
        if d.installed_version is None:
            raise AppNotInstalled(
                f"{bundle_id} is not installed",
                device_udid=self.udid,
                hint="pomar devices --check --install",
            )
        return d

    def write_files(self, bundle_id: str, files: Mapping[str, bytes]) -> int:
        d = self._app(bundle_id)
        for path, data in files.items():
            d._write(path, data)
        d.bytes_pushed += sum(len(v) for v in files.values())
        return sum(len(v) for v in files.values())

    def push_tree(self, bundle_id: str, local: Path, remote: str) -> int:
        d = self._app(bundle_id)
        total = 0
        paths = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
        for path in paths:
            data = path.read_bytes()
            rel = "" if path == local else "/" + path.relative_to(local).as_posix()
            d._write(remote + rel, data)
            total += len(data)
        d.bytes_pushed += total
        return total

    def read_file(self, bundle_id: str, path: str) -> bytes | None:
        d = self._app(bundle_id)
        with d.lock:
            return d.files.get(path.strip("/"))

    def list_dir(self, bundle_id: str, path: str) -> list[str]:
        d = self._app(bundle_id)
        prefix = path.strip("/") + "/"
        with d.lock:
            names = {k[len(prefix) :].split("/", 1)[0] for k in d.files if k.startswith(prefix)}
        return sorted(names)

    def remove(self, bundle_id: str, path: str) -> None:
        d = self._app(bundle_id)
        path = path.strip("/")
        with d.lock:
            for key in [k for k in d.files if k == path or k.startswith(path + "/")]:
                del d.files[key]

    def launch(self, bundle_id: str, arguments: list[str]) -> int:
        d = self._check_developer()
        self._app(bundle_id)
        with d.lock:
            for proc in d.processes.values():  # KillExisting
                proc.killed.set()
            proc = _Process(next(FakeIPhone._pids), bundle_id)
            d.processes[proc.pid] = proc
            d.launches += 1
        run_id = arguments[arguments.index("--pomar-run") + 1] if "--pomar-run" in arguments else ""
        threading.Thread(
            target=d._app_main, args=(proc, run_id), name=f"fake-app-{proc.pid}", daemon=True
        ).start()
        return proc.pid

    def kill(self, pid: int) -> None:
        d = self._check_developer()
        proc = d.processes.get(pid)
        if proc is None:
            raise TransientDeviceError(f"no process {pid}", device_udid=self.udid)
        proc.killed.set()
        proc.exited.wait(5)

    def is_running(self, pid: int) -> bool:
        d = self._check_developer()
        proc = d.processes.get(pid)
        return proc is not None and not proc.exited.is_set()

    def start_sampling(self, pid: int, interval_ms: int) -> _FakeSampler:
        d = self._check_developer()
        return _FakeSampler(d.processes[pid], time.monotonic())

    def crash_reports(self, since: datetime | None = None) -> list[CrashReportRef]:
        d = self._check()
        with d.lock:
            return [
                CrashReportRef(path, mtime)
                for path, (_, mtime) in sorted(d.crash_reports.items())
                if since is None or mtime >= since
            ]

    def read_crash_report(self, path: str) -> str:
        d = self._check()
        return d.crash_reports[path][0]

    def stream_log(
        self, pid: int, on_line: Callable[[LogLine], None] | None = None
    ) -> _FakeLogStream:
        line = LogLine(pid, f"pomar harness {pid} started")
        if on_line:
            on_line(line)
        return _FakeLogStream([line])

    def close(self) -> None:
        pass


class FakeTransport:
    """Fake iPhones attached to this host."""

    def __init__(self, devices: list[FakeIPhone]) -> None:
        self.devices = {d.udid: d for d in devices}
        self._closed = threading.Event()

    def list_devices(self) -> list[DeviceRef]:
        return [DeviceRef(u) for u, d in self.devices.items() if d.connected]

    def watch(self) -> Iterator[DeviceEvent]:
        """Attach/detach events by diffing the connected set, until :meth:`close`."""
        present: set[str] = set()
        while not self._closed.is_set():
            now = {r.udid for r in self.list_devices()}
            for udid in sorted(now - present):
                yield DeviceEvent(DeviceEventKind.ATTACHED, DeviceRef(udid))
            for udid in sorted(present - now):
                yield DeviceEvent(DeviceEventKind.DETACHED, DeviceRef(udid))
            present = now
            self._closed.wait(0.05)

    def open(self, udid: str) -> FakeSession:
        device = self.devices.get(udid)
        if device is None or not device.connected:
            raise DeviceLost(f"no iPhone {udid} is attached", device_udid=udid)
        return FakeSession(device)

    def close(self) -> None:
        self._closed.set()


FAKE_PRODUCT_TYPES = ("iPhone15,2", "iPhone16,1", "iPhone14,7", "iPhone17,3")

FAST_CONFIG = IosConfig(poll_interval_s=0.01, exit_grace_s=1.0, crash_report_wait_s=0.2)
"""Polling tuned for fakes, whose app answers in milliseconds."""


def fake_iphones(
    n: int, *, predictor: Predictor | None = None, **scenario: Any
) -> list[FakeIPhone]:
    """``n`` fake iPhones of a few product types, all playing ``FakeScenario(**scenario)``."""
    base = FakeScenario(**scenario)
    return [
        FakeIPhone(
            udid=f"00008000-FAKE{i:012d}",
            product_type=FAKE_PRODUCT_TYPES[i % len(FAKE_PRODUCT_TYPES)],
            scenario=replace(base),
            predictor=predictor,
        )
        for i in range(n)
    ]


def fake_ios_devices(
    n: int, *, config: IosConfig | None = None, predictor: Predictor | None = None, **scenario: Any
) -> list[Any]:
    """``n`` fake iPhones as ``agent.device.Device``\\ s, for ``pomar agent --fake-ios N``."""
    from agent.devices.ios.device import IosDevice  # the device module imports this one's interface

    transport = FakeTransport(fake_iphones(n, predictor=predictor, **scenario))
    cfg = config or FAST_CONFIG
    return [IosDevice(transport.open(ref.udid), cfg) for ref in transport.list_devices()]
