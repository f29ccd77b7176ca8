"""Run the self-test battery on one device: build the models, run each on every compute unit
asked for, judge the outcomes, keep the raw results for the bundle."""

from __future__ import annotations

import logging
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.device import Device, RunOutcome, RunRequest
from agent.selftest import battery
from agent.selftest.checks import (
    CheckResult,
    CheckStatus,
    check_compute_plan,
    check_jetsam,
    check_latency,
    check_memory,
    check_output_layout,
)
from pomar_core import catalog
from pomar_core.errors import PomarError
from pomar_core.wire import ComputeUnit, DeviceInfo, DeviceKind, RunConfig

log = logging.getLogger(__name__)

OVERSIZE_FACTOR = 1.5
"""The oversized model needs this multiple of the device's app memory limit."""
RUN_CONFIG = RunConfig(warmup=3, iterations=20, timeout_s=180.0)


@dataclass(frozen=True)
class RawRun:
    """One run of the battery as the device reported it (for the bundle)."""

    model: str
    compute_unit: str
    outcome: dict[str, Any]


@dataclass(frozen=True)
class SelftestReport:
    device: DeviceInfo
    checks: tuple[CheckResult, ...]
    raw: tuple[RawRun, ...] = ()
    infra_error: str | None = None
    """Set when the device or the farm failed and the battery stopped (exit 3)."""
    outputs: dict[str, Any] = field(default_factory=dict)
    """``<model>-<unit>/<output>`` → array, for the bundle."""

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status is CheckStatus.FAILED]


OnCheck = Callable[[CheckResult], None]


def app_memory_limit(info: DeviceInfo) -> int | None:
    """The app's memory limit: the catalog's for a known iPhone, else half of its RAM; None for
    devices that have no jetsam (the emulator, a Mac)."""
    if info.kind is not DeviceKind.IOS:
        return None
    known = catalog.app_memory_limit_bytes(info.product_type)
    if known is not None:
        return known
    return info.ram_bytes // 2 if info.ram_bytes else None


def run_selftest(
    device: Device,
    compute_units: Sequence[ComputeUnit] = (ComputeUnit.ALL,),
    *,
    on_check: OnCheck | None = None,
) -> SelftestReport:
    """Every check on every compute unit; stops at the first infrastructure error."""
    info = device.info
    checks: list[CheckResult] = []
    raw: list[RawRun] = []
    outputs: dict[str, Any] = {}

    def record(result: CheckResult) -> None:
        checks.append(result)
        if on_check is not None:
            on_check(result)

    with tempfile.TemporaryDirectory(prefix="pomar-selftest-") as tmp:
        try:
            device.check_ready()
            models = _build(Path(tmp), app_memory_limit(info))
            for unit in compute_units:
                for model, judge in models:
                    if judge is None:
                        record(_skipped_jetsam(unit))
                        continue
                    outcome = device.run(_request(model, unit))
                    raw.append(RawRun(model.name, unit.value, outcome_summary(outcome)))
                    for name, array in outcome.outputs.items():
                        outputs[f"{model.name}-{unit.value}/{name}"] = array
                    for result in judge(model, unit.value, outcome):
                        record(result)
        except PomarError as exc:
            log.warning("selftest on %s stopped: %s", info.udid, exc.one_line())
            return SelftestReport(info, tuple(checks), tuple(raw), exc.one_line(), outputs)
    return SelftestReport(info, tuple(checks), tuple(raw), None, outputs)


Judge = Callable[[battery.SelftestModel, str, RunOutcome], list[CheckResult]]


def _build(folder: Path, limit: int | None) -> list[tuple[battery.SelftestModel, Judge | None]]:
    def jetsam(m: battery.SelftestModel, u: str, o: RunOutcome) -> list[CheckResult]:
        assert limit is not None
        return [check_jetsam(m, u, o, limit)]

    models: list[tuple[battery.SelftestModel, Judge | None]] = [
        (battery.exact_model(folder), lambda m, u, o: [check_output_layout(m, u, o)]),
        (battery.memory_model(folder), lambda m, u, o: [check_memory(m, u, o)]),
        (
            battery.op_chain_model(folder),
            lambda m, u, o: [check_latency(m, u, o), check_compute_plan(m, u, o)],
        ),
    ]
    if limit is None:
        placeholder = battery.SelftestModel("oversized", folder, models[0][0].ref, {})
        models.append((placeholder, None))
    else:
        size = int(limit * OVERSIZE_FACTOR)
        models.append((battery.oversized_model(folder, size), jetsam))
    return models


def _skipped_jetsam(unit: ComputeUnit) -> CheckResult:
    return CheckResult(
        check="jetsam classification",
        compute_unit=unit.value,
        status=CheckStatus.SKIPPED,
        measured="not run",
        expected="oom_killed",
        detail="this device has no jetsam limit (only iPhones kill apps for memory)",
    )


def _request(model: battery.SelftestModel, unit: ComputeUnit) -> RunRequest:
    config = RUN_CONFIG.model_copy(update={"compute_units": (unit,)})
    return RunRequest(
        run_id=f"selftest-{model.name}-{uuid.uuid4().hex[:8]}",
        model=model.ref,
        model_path=model.path,
        inputs=model.inputs,
        compute_unit=unit,
        config=config,
    )


def outcome_summary(outcome: RunOutcome) -> dict[str, Any]:
    """A run's outcome as JSON-ready data: everything but the output arrays, which are
    described by shape and dtype."""
    return {
        "outcome": outcome.outcome.value,
        "error": outcome.error,
        "warnings": list(outcome.warnings),
        "thermal_state": outcome.thermal_state,
        "timings": outcome.timings.model_dump(mode="json"),
        "memory": outcome.memory.model_dump(mode="json"),
        "compute_plan": [e.model_dump(mode="json") for e in outcome.compute_plan],
        "environment": outcome.environment.model_dump(mode="json") if outcome.environment else None,
        "outputs": {
            k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in outcome.outputs.items()
        },
    }
