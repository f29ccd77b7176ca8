"""Series: every nightly result, keyed by (model, device product, OS version, compute unit).

A :class:`NightPoint` is what one night measured for one key. A *lineage* is the key without
the OS version: an OS update on a device starts a new series of the same lineage, and a
converter (coremltools) change starts a new *segment* within a series. Nights are only ever
compared with earlier nights of the same segment (:mod:`orchestrator.history.nightly`).

A run taken at thermal state ``serious`` or ``critical`` is *hot*: it is marked in its result
(:func:`mark_hot`, when the coordinator records it) and in the series, and never used as
history nor flagged for its timings: it measured the device's heat, not the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pomar_core.wire import JobSpec, RunResult, RunStatus

HOT_STATES = ("serious", "critical")
HOT_WARNING = "thermal state {state} during the run: its timings are not comparable"


@dataclass(frozen=True, order=True)
class SeriesKey:
    model: str
    product: str
    os_version: str
    compute_unit: str

    @property
    def lineage(self) -> tuple[str, str, str]:
        return (self.model, self.product, self.compute_unit)

    def describe(self) -> str:
        return f"{self.model} on {self.product} iOS {self.os_version} ({self.compute_unit})"


@dataclass(frozen=True)
class NightPoint:
    job_id: str
    run_id: str
    at: datetime
    status: RunStatus
    device_udid: str
    os_version: str
    converter: str | None
    latency_ms: tuple[float, ...] = ()
    peak_bytes: int | None = None
    parity_error: float | None = None
    """The worst relative L2 error over the outputs."""
    ane_share: float | None = None
    """Share of the compute plan's ops (by cost when known) preferring the Neural Engine."""
    hot: bool = False

    @property
    def failing(self) -> bool:
        """The model failed (parity, budget, killed, crashed): a result, not the farm's fault."""
        return self.status.finished and self.status not in (
            RunStatus.PASSED,
            RunStatus.CANCELLED,
            RunStatus.DEVICE_LOST,
            RunStatus.TIMEOUT,
        )

    @property
    def measured(self) -> bool:
        return bool(self.latency_ms) and not self.hot

    @property
    def segment(self) -> tuple[str, str | None]:
        return (self.os_version, self.converter)


def thermal_of(result: RunResult) -> str | None:
    """The hottest thermal state reported around the run."""
    env = result.environment
    states = [result.thermal_state]
    if env is not None:
        states += [env.thermal_before, env.thermal_after]
    known = [s for s in states if s]
    order = ("nominal", "fair", "serious", "critical")
    return max(known, key=lambda s: order.index(s) if s in order else -1) if known else None


def is_hot(result: RunResult) -> bool:
    return thermal_of(result) in HOT_STATES


def mark_hot(result: RunResult) -> RunResult:
    """The result with a warning saying it ran hot (unchanged when it did not)."""
    state = thermal_of(result)
    if state not in HOT_STATES:
        return result
    warning = HOT_WARNING.format(state=state)
    if warning in result.warnings:
        return result
    return result.model_copy(update={"warnings": (*result.warnings, warning)})


def ane_share(result: RunResult) -> float | None:
    plan = result.compute_plan
    if not plan:
        return None
    weights = [e.cost_weight if e.cost_weight is not None else 1.0 for e in plan]
    total = sum(weights)
    on_ane = sum(w for w, e in zip(weights, plan, strict=True) if e.preferred == "ane")
    return on_ane / total if total > 0 else None


def point_of(job: JobSpec, result: RunResult) -> tuple[SeriesKey, NightPoint]:
    device = result.device
    key = SeriesKey(
        model=job.model.name,
        product=device.product_type,
        os_version=device.os_version or "?",
        compute_unit=result.compute_unit.value,
    )
    latency = result.timings.latency
    errors = [
        o.metrics.relative_l2
        for o in (result.parity.outputs if result.parity else ())
        if o.metrics.relative_l2 is not None
    ]
    point = NightPoint(
        job_id=job.job_id,
        run_id=result.run_id,
        at=result.finished_at or job.submitted_at,
        status=result.status,
        device_udid=device.udid,
        os_version=key.os_version,
        converter=job.converter,
        latency_ms=latency.samples_ms if latency else (),
        peak_bytes=result.memory.peak_bytes,
        parity_error=max(errors) if errors else None,
        ane_share=ane_share(result),
        hot=is_hot(result),
    )
    return key, point
