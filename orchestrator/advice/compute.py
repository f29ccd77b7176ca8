"""Compute-unit advice: per device product × iOS major version, the fastest setting that passed.

Input: a model's finished runs across the farm (one job, or every job with a label for the
newest model under it). Per device product and iOS major version and compute unit, the latest
result of each device counts; a setting passes for the group only when every device's latest
run of it passed parity and budgets (``passed``), and its latency is the slowest device's p50.
The advice is the passing setting with the lowest p50 (Core ML's preference order
``all`` → ``ane`` → ``gpu`` → ``cpu`` breaks ties and ranks settings without a latency last).
Every other setting is listed with why it did not make it; a group with no passing setting
has ``recommended = None`` and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from orchestrator.reports.summary import failure_reasons
from pomar_core.wire import PROTOCOL_VERSION, ComputeUnit, RunResult, RunStatus, WireModel

PREFERENCE = (ComputeUnit.ALL, ComputeUnit.ANE, ComputeUnit.GPU, ComputeUnit.CPU)
"""Tie-break order: Core ML's default first, the CPU (the safe fallback) last."""

_WHY_MAX = 3


class SettingOutcome(WireModel):
    """One compute-unit setting on one device group."""

    compute_unit: ComputeUnit
    passed: bool
    p50_ms: float | None = None
    """The slowest device's steady-state median latency (passing runs only)."""
    status: RunStatus
    """``passed``, or the status of the (first) device whose run did not pass."""
    why: str | None = None
    """Why it did not pass, in the reports' words."""
    runs: tuple[str, ...]
    """The runs it is based on (the latest per device)."""


class DeviceAdvice(WireModel):
    product_type: str
    marketing_name: str
    ios_major: int | None
    """None when the devices did not report their iOS version."""
    recommended: ComputeUnit | None
    outcomes: tuple[SettingOutcome, ...]
    """Every setting tried: passing ones fastest first, then the failed ones."""
    note: str


class Advice(WireModel):
    """What ``pomar advise`` writes as JSON (and renders as Swift)."""

    protocol: Literal[1] = PROTOCOL_VERSION
    model: str
    model_sha256: str
    jobs: tuple[str, ...]
    generated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    devices: tuple[DeviceAdvice, ...]


def advise(
    model: str, model_sha256: str, jobs: Sequence[str], results: Iterable[RunResult]
) -> Advice:
    """The advice for ``results`` (finished runs of one model; others are skipped)."""
    latest: dict[tuple[str, int | None, ComputeUnit, str], RunResult] = {}
    names: dict[tuple[str, int | None], str] = {}
    for result in results:
        if not result.status.finished or result.status is RunStatus.CANCELLED:
            continue
        group = (result.device.product_type, ios_major(result.device.os_version))
        names.setdefault(group, result.device.marketing_name)
        key = (*group, result.compute_unit, result.device.udid)
        seen = latest.get(key)
        if seen is None or _finished_at(result) >= _finished_at(seen):
            latest[key] = result
    by_setting: dict[tuple[str, int | None], dict[ComputeUnit, list[RunResult]]] = {}
    for (product, major, unit, _), result in sorted(latest.items(), key=lambda kv: kv[0][3]):
        by_setting.setdefault((product, major), {}).setdefault(unit, []).append(result)
    devices = tuple(
        _device_advice(product, major, names[(product, major)], settings)
        for (product, major), settings in sorted(
            by_setting.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)
        )
    )
    return Advice(model=model, model_sha256=model_sha256, jobs=tuple(jobs), devices=devices)


def ios_major(version: str | None) -> int | None:
    """``17`` of ``17.5.1``; None when unknown or not a version."""
    head = (version or "").split(".", 1)[0]
    return int(head) if head.isdigit() else None


def _device_advice(
    product: str,
    major: int | None,
    marketing_name: str,
    settings: dict[ComputeUnit, list[RunResult]],
) -> DeviceAdvice:
    outcomes = [_outcome(unit, runs) for unit, runs in settings.items()]
    passing = sorted((o for o in outcomes if o.passed), key=_speed)
    failing = sorted((o for o in outcomes if not o.passed), key=lambda o: _rank(o.compute_unit))
    best = passing[0] if passing else None
    if best is None:
        note = "no compute-unit setting passed parity and budgets: " + ", ".join(
            f"{o.compute_unit.value} {o.status.value}" for o in failing
        )
    else:
        p50 = f" (p50 {best.p50_ms:.3g} ms)" if best.p50_ms is not None else ""
        others = ", ".join(f"{o.compute_unit.value} {o.status.value}" for o in failing)
        note = f"{best.compute_unit.value} is the fastest that passed{p50}" + (
            f"; failed: {others}" if others else ""
        )
    return DeviceAdvice(
        product_type=product,
        marketing_name=marketing_name,
        ios_major=major,
        recommended=best.compute_unit if best else None,
        outcomes=(*passing, *failing),
        note=note,
    )


def _outcome(unit: ComputeUnit, runs: list[RunResult]) -> SettingOutcome:
    bad = next((r for r in runs if r.status is not RunStatus.PASSED), None)
    ids = tuple(r.run_id for r in runs)
    if bad is not None:
        why = "; ".join(failure_reasons(bad)[:_WHY_MAX])
        return SettingOutcome(compute_unit=unit, passed=False, status=bad.status, why=why, runs=ids)
    latencies = [r.timings.latency.p50_ms for r in runs if r.timings.latency is not None]
    p50 = max(latencies) if len(latencies) == len(runs) else None
    return SettingOutcome(
        compute_unit=unit, passed=True, p50_ms=p50, status=RunStatus.PASSED, runs=ids
    )


def _speed(o: SettingOutcome) -> tuple[bool, float, int]:
    return (o.p50_ms is None, o.p50_ms or 0.0, _rank(o.compute_unit))


def _rank(unit: ComputeUnit) -> int:
    return PREFERENCE.index(unit)


def _finished_at(result: RunResult) -> datetime:
    return result.finished_at or datetime.min.replace(tzinfo=UTC)
