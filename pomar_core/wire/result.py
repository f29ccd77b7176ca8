"""What a run produced: status, timings, memory, outputs, parity."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from pomar_core.wire.base import (
    PROTOCOL_VERSION,
    ComputeUnit,
    DType,
    RunStatus,
    Sha256,
    WireModel,
)
from pomar_core.wire.device import DeviceInfo
from pomar_core.wire.localisation import Localisation
from pomar_core.wire.parity import ParityReport


class LatencyStats(WireModel):
    """Steady-state prediction latency in milliseconds."""

    samples_ms: tuple[float, ...]
    mean_ms: float
    std_ms: float
    min_ms: float
    max_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @classmethod
    def from_samples(cls, samples_ms: list[float] | tuple[float, ...]) -> LatencyStats:
        """Summarise samples; percentiles use linear interpolation between order statistics."""
        if not samples_ms:
            raise ValueError("no latency samples")
        data = sorted(float(s) for s in samples_ms)
        n = len(data)
        mean = sum(data) / n
        std = (sum((x - mean) ** 2 for x in data) / n) ** 0.5

        def pct(q: float) -> float:
            pos = (n - 1) * q
            lo = int(pos)
            hi = min(lo + 1, n - 1)
            return data[lo] + (data[hi] - data[lo]) * (pos - lo)

        return cls(
            samples_ms=tuple(float(s) for s in samples_ms),
            mean_ms=mean,
            std_ms=std,
            min_ms=data[0],
            max_ms=data[-1],
            p50_ms=pct(0.5),
            p90_ms=pct(0.9),
            p99_ms=pct(0.99),
        )


class Timings(WireModel):
    """Phase timings in milliseconds; None where the device does not have the phase."""

    compile_ms: float | None = None
    cold_load_ms: float | None = None
    warm_load_ms: float | None = None
    first_prediction_ms: float | None = None
    latency: LatencyStats | None = None


class MemoryStats(WireModel):
    """Memory of the process running the model, in bytes."""

    peak_bytes: int | None = None
    baseline_bytes: int | None = None
    after_load_bytes: int | None = None
    device_limit_bytes: int | None = None
    """The practical per-app limit (jetsam) on this device, when known."""
    weight_bytes: int | None = None
    peak_activation_bytes: int | None = None
    source: Literal["phys_footprint", "dvt_sysmontap", "emulator_model", "rss"] | None = None


class OutputRef(WireModel):
    """An output tensor stored as an ``.npy`` artifact."""

    name: str
    sha256: Sha256
    dtype: DType
    shape: tuple[int, ...]


class ComputePlanEntry(WireModel):
    """Where Core ML placed one op (MLComputePlan, iOS 17.4+)."""

    op: str
    op_type: str
    preferred: Literal["cpu", "gpu", "ane", "unknown"]
    supported: tuple[Literal["cpu", "gpu", "ane"], ...] = ()
    cost_weight: float | None = None


class RunEnvironment(WireModel):
    """Device state around a run: a hot or low-power device times differently."""

    battery_before: float | None = None
    """0..1"""
    battery_after: float | None = None
    thermal_before: str | None = None
    thermal_after: str | None = None
    low_power_mode: bool | None = None


class RunResult(WireModel):
    """The outcome of one run on one device and compute unit."""

    protocol: Literal[1] = PROTOCOL_VERSION
    run_id: str
    job_id: str
    device: DeviceInfo
    compute_unit: ComputeUnit
    status: RunStatus
    attempt: int = Field(default=1, ge=1)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    timings: Timings = Timings()
    memory: MemoryStats = MemoryStats()
    outputs: tuple[OutputRef, ...] = ()
    parity: ParityReport | None = None
    compute_plan: tuple[ComputePlanEntry, ...] = ()
    thermal_state: str | None = None
    environment: RunEnvironment | None = None
    error: str | None = None
    """One line: why the run errored, crashed, or was killed."""
    warnings: tuple[str, ...] = ()
    budget_violations: tuple[str, ...] = ()
    """One sentence per latency or memory budget the run broke (status ``budget_failed``)."""
    localisation: Localisation | None = None
    """For a parity failure: which op the device got wrong (``orchestrator.localise``)."""
