"""The host Mac as a device: runs the model with Core ML through coremltools (macOS only).

Measured like the iPhone harness — compile, cold load, warm load (release and load again),
first prediction, warm-up, then timed predictions until the iteration count and the minimum
duration are met — so a Mac with no phone attached is already useful and a three-way
"Mac vs iPhone vs reference" triage is possible. Differences from the phone, reported as run
warnings: prediction times include coremltools' numpy ⇄ MLMultiArray conversion, and the
footprint is this Python process's.
"""

from __future__ import annotations

import gc
import platform
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from agent.device import RunOutcome, RunRequest
from agent.devices.mac.compute_units import coremltools_name, mac_compute_units
from agent.devices.mac.coreml import CoreMLBackend, CoreMLTools, macos_version, require_macos
from agent.devices.mac.environment import PowerState, mac_run_environment, power_state
from agent.devices.mac.memory import FootprintSampler, phys_footprint
from agent.devices.mac.outcome import MacMeasurement, completed_outcome, error_outcome
from agent.devices.mac.timing import Clock, measure_predictions, time_call
from pomar_core.errors import UsageError
from pomar_core.wire import ComputePlanEntry, DeviceInfo, DeviceKind

MAC_POOL = "mac"
CONVERSION_WARNING = "Mac latency includes coremltools' numpy/MLMultiArray conversion"
FOOTPRINT_WARNING = "Mac memory is the agent process's footprint (compare deltas, not totals)"

Sysctl = Callable[[str], str | None]


def sysctl(name: str) -> str | None:
    """``sysctl -n name``, or None when it has no answer."""
    try:
        done = subprocess.run(
            ["/usr/sbin/sysctl", "-n", name], capture_output=True, text=True, check=False, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def platform_serial() -> str | None:
    """The Mac's serial number from the I/O registry (stable across reboots)."""
    try:
        done = subprocess.run(
            ["/usr/sbin/ioreg", "-c", "IOPlatformExpertDevice", "-d", "2"],
            capture_output=True,
            text=True,
            check=False,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'"IOPlatformSerialNumber"\s*=\s*"([^"]+)"', done.stdout)
    return match.group(1) if match else None


def mac_device_info(
    *,
    sysctl: Sysctl = sysctl,
    serial: str | None = None,
    os_version: str | None = None,
    machine: str | None = None,
    host: str | None = None,
) -> DeviceInfo:
    """Facts about this Mac; the probes are injectable so this runs (and is tested) anywhere."""
    model = sysctl("hw.model") or "Mac"
    memsize = sysctl("hw.memsize")
    machine = machine or platform.machine()
    apple_silicon = machine == "arm64"
    return DeviceInfo(
        udid=f"mac-{serial or platform.node() or 'local'}",
        kind=DeviceKind.MAC,
        product_type=model,
        marketing_name=f"{model} (host Mac)",
        chip=sysctl("machdep.cpu.brand_string"),
        ram_bytes=int(memsize) if memsize and memsize.isdigit() else None,
        os_version=os_version or (platform.mac_ver()[0] or None),
        pools=(model, MAC_POOL),
        compute_units=mac_compute_units(apple_silicon=apple_silicon),
        agent_host=host,
    )


class MacDevice:
    """A :class:`agent.device.Device` that runs Core ML on the host Mac."""

    def __init__(
        self,
        info: DeviceInfo | None = None,
        *,
        backend: CoreMLBackend | None = None,
        clock: Clock | None = None,
        footprint: Callable[[], int | None] = phys_footprint,
        require: Callable[[], None] = require_macos,
        power: Callable[[], PowerState] = power_state,
    ) -> None:
        self._info = info
        self._backend = backend
        self._clock: Clock = clock or time.perf_counter_ns
        self._footprint = footprint
        self._require = require
        self._power = power

    @property
    def info(self) -> DeviceInfo:
        if self._info is None:
            self._info = mac_device_info(serial=platform_serial())
        return self._info

    def check_ready(self) -> None:
        self._require()

    def run(self, request: RunRequest) -> RunOutcome:
        """Run one model on one compute unit. Model and input failures are ``error`` outcomes.

        The environment has battery and Low Power Mode from ``pmset``; no thermal state (see
        ``agent.devices.mac.environment``)."""
        self.check_ready()
        before = self._power()
        outcome = self._run(request)
        return replace(outcome, environment=mac_run_environment(before, self._power()))

    def _run(self, request: RunRequest) -> RunOutcome:
        backend = self._backend or CoreMLTools()
        warnings = [CONVERSION_WARNING, FOOTPRINT_WARNING]
        low_precision = request.config.low_precision_accumulation_on_gpu
        if low_precision and sys.platform == "darwin" and macos_version() < (15,):
            # coremltools passes the hint only on macOS 15+; say so rather than drop it quietly.
            warnings.append("low-precision GPU accumulation needs macOS 15; ran without it")
            low_precision = False
        try:
            coremltools_name(request.compute_unit)
            with tempfile.TemporaryDirectory(prefix="pomar-mac-") as scratch:
                return self._measure(request, backend, Path(scratch), low_precision, warnings)
        except UsageError as exc:
            return error_outcome(exc.one_line(), warnings=tuple(warnings))

    def _measure(
        self,
        request: RunRequest,
        backend: CoreMLBackend,
        scratch: Path,
        low_precision: bool,
        warnings: list[str],
    ) -> RunOutcome:
        clock = self._clock
        memory = FootprintSampler(self._footprint)
        unit = request.compute_unit
        baseline = memory.sample()
        compiled, compile_ns = time_call(
            lambda: backend.compile(request.model_path, scratch), clock
        )
        was_compiled = compiled != request.model_path
        model, cold_ns = time_call(
            lambda: backend.load(compiled, unit, low_precision_gpu=low_precision), clock
        )
        del model
        gc.collect()  # release the first model before the warm load, as the app does
        model, warm_ns = time_call(
            lambda: backend.load(compiled, unit, low_precision_gpu=low_precision), clock
        )
        after_load = memory.sample()
        last: dict[str, object] = {}

        def predict() -> None:
            last["outputs"] = model.predict(request.inputs)

        loop = measure_predictions(
            predict,
            warmup=request.config.warmup,
            iterations=request.config.iterations,
            min_duration_s=request.config.min_duration_s,
            after_each=lambda _phase, _i: memory.sample(),
            clock=clock,
        )
        plan: tuple[ComputePlanEntry, ...] = ()
        try:
            plan = backend.compute_plan(compiled, unit)
        except Exception as exc:  # an optional extra: never fails the run
            warnings.append(f"no compute plan: {' '.join(str(exc).split())}"[:200])
        outputs = last.get("outputs", {})
        return completed_outcome(
            MacMeasurement(
                compile_ns=compile_ns if was_compiled else None,
                cold_load_ns=cold_ns,
                warm_load_ns=warm_ns,
                loop=loop,
                outputs=outputs if isinstance(outputs, dict) else {},
                baseline_bytes=baseline,
                after_load_bytes=after_load,
                peak_bytes=memory.peak,
                compute_plan=plan,
                warnings=tuple(warnings),
            )
        )
