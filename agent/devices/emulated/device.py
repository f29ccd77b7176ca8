"""The emulated device: runs the Core ML program on this machine's CPU with Pomar's emulator.

It models numerics (fp32, fp16, fp16-strict), not Apple's kernels or timings: its latency is
the emulator's, and its memory figure comes from the emulator's memory model, not a process
footprint. It exists so the whole pipeline runs on any OS, and so FP16 behaviour can be checked
before any iPhone is involved.
"""

from __future__ import annotations

import time
from typing import Any

from agent.device import Outcome, RunOutcome, RunRequest
from pomar_core.errors import UsageError
from pomar_core.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    LatencyStats,
    MemoryStats,
    Timings,
)

EMULATOR_PRODUCT_TYPE = "Emulator"
EMULATOR_POOL = "emulator"


def emulated_device_info(index: int = 0, *, host: str | None = None) -> DeviceInfo:
    return DeviceInfo(
        udid=f"emulated-{index}",
        kind=DeviceKind.EMULATED,
        product_type=EMULATOR_PRODUCT_TYPE,
        marketing_name="Pomar emulator (CPU)",
        chip="host CPU",
        os_version=None,
        pools=(EMULATOR_POOL,),
        compute_units=tuple(ComputeUnit),
        agent_host=host,
    )


class EmulatedDevice:
    """A :class:`agent.device.Device` backed by ``coreml_emulator``."""

    def __init__(self, index: int = 0, *, host: str | None = None) -> None:
        self._info = emulated_device_info(index, host=host)

    @property
    def info(self) -> DeviceInfo:
        return self._info

    def check_ready(self) -> None:
        return None

    def run(self, request: RunRequest) -> RunOutcome:
        import coreml_emulator as emulator

        precision = request.config.precision.value
        t0 = time.perf_counter_ns()
        program = emulator.load_program(request.model_path)
        cold_ns = time.perf_counter_ns() - t0
        t0 = time.perf_counter_ns()
        program = emulator.load_program(request.model_path)
        warm_ns = time.perf_counter_ns() - t0

        try:
            t0 = time.perf_counter_ns()
            outputs = program.predict(request.inputs, precision=precision)
            first_ns = time.perf_counter_ns() - t0
        except UsageError as exc:
            return RunOutcome(Outcome.ERROR, error=exc.one_line())

        for _ in range(request.config.warmup):
            if request.cancelled:
                return _cancelled("during warm-up")
            program.predict(request.inputs, precision=precision)
        samples = _timed(program, request, precision)
        if request.cancelled:
            return _cancelled(
                f"after {len(samples)} of {request.config.iterations} timed iterations"
            )
        memory = program.memory_model(precision)
        return RunOutcome(
            Outcome.COMPLETED,
            outputs=outputs,
            timings=Timings(
                cold_load_ms=cold_ns / 1e6,
                warm_load_ms=warm_ns / 1e6,
                first_prediction_ms=first_ns / 1e6,
                latency=LatencyStats.from_samples(samples),
            ),
            memory=MemoryStats(
                peak_bytes=memory.total_bytes,
                weight_bytes=memory.weight_bytes,
                peak_activation_bytes=memory.peak_activation_bytes,
                source="emulator_model",
            ),
            thermal_state="nominal",
            warnings=(f"emulated in {precision}: numerics only, not Apple's kernels or timings",),
        )


def _cancelled(when: str) -> RunOutcome:
    return RunOutcome(Outcome.CANCELLED, error=f"cancelled {when}")


def _timed(program: Any, request: RunRequest, precision: str) -> list[float]:
    """At least ``iterations`` predictions and at least ``min_duration_s`` of them; fewer
    when the run is cancelled (checked between iterations)."""
    samples: list[float] = []
    deadline = time.perf_counter() + request.config.min_duration_s
    while len(samples) < request.config.iterations or time.perf_counter() < deadline:
        if request.cancelled:
            break
        t0 = time.perf_counter_ns()
        program.predict(request.inputs, precision=precision)
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return samples
