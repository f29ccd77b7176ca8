"""How the self-test judges each run: pass, fail or skip, with the measured value and the
expected band, so a failing check is a reportable fact rather than a feeling."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from agent.device import Outcome, RunOutcome
from agent.selftest.battery import CHAIN_OP_TYPES, SelftestModel
from pomar_core.health import HealthStatus

CheckStatus = HealthStatus
"""pass / fail / skip, as every health check answers."""

MIB = 1024 * 1024
MEMORY_BAND = (0.5, 6.0)
"""The model's footprint (peak minus the app's baseline) as a multiple of its weights: Core ML
keeps at least half the weights resident (some may stay mapped from the file) and at most a
few copies (compiled form, per-unit copies); a unit mix-up (KiB read as bytes) is 1024× off."""
MEMORY_SLACK_BYTES = 64 * MIB
"""Allowed on top of the upper band: activations, the runtime's own buffers."""
FIRST_OVER_STEADY_MIN = 0.25
"""The first prediction may be faster than steady state by at most this factor (noise); much
faster means phases are swapped or mislabelled."""
PER_OP_MS_BAND = (1e-6, 50.0)
"""Steady-state p50 per op of the chain: a nanosecond unit read as milliseconds (or the
reverse) falls outside."""


class CheckResult(BaseModel):
    """One check of the battery on one compute unit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    check: str
    compute_unit: str
    status: CheckStatus
    measured: str
    expected: str
    detail: str = ""

    def line(self) -> str:
        text = (
            f"{self.status.value:4}  {self.check} [{self.compute_unit}]: measured {self.measured}"
        )
        text += f"; expected {self.expected}"
        return f"{text} — {self.detail}" if self.detail else text


def _result(
    check: str, unit: str, ok: bool, measured: str, expected: str, detail: str = ""
) -> CheckResult:
    status = CheckStatus.PASSED if ok else CheckStatus.FAILED
    return CheckResult(
        check=check,
        compute_unit=unit,
        status=status,
        measured=measured,
        expected=expected,
        detail=detail,
    )


def _not_completed(check: str, unit: str, outcome: RunOutcome, expected: str) -> CheckResult:
    return _result(
        check, unit, False, f"run {outcome.outcome.value}", expected, outcome.error or ""
    )


def check_output_layout(model: SelftestModel, unit: str, outcome: RunOutcome) -> CheckResult:
    """Every output present, with its shape, and every element exactly the known integer."""
    check, expected_text = (
        "output layout",
        "every element exact, shapes "
        + ", ".join(f"{k} {tuple(v.shape)}" for k, v in (model.expected or {}).items()),
    )
    if outcome.outcome is not Outcome.COMPLETED:
        return _not_completed(check, unit, outcome, expected_text)
    parts, ok = [], True
    for name, want in (model.expected or {}).items():
        got = outcome.outputs.get(name)
        if got is None:
            parts.append(f"{name} missing")
            ok = False
            continue
        if tuple(got.shape) != tuple(want.shape):
            parts.append(f"{name} shape {tuple(got.shape)}")
            ok = False
            continue
        exact = int(np.count_nonzero(np.asarray(got, dtype=np.float64) == want))
        parts.append(f"{name} {exact}/{want.size} exact")
        ok = ok and exact == want.size
    detail = "" if ok else "outputs are misplaced or rounded: the output path or layout is wrong"
    return _result(check, unit, ok, "; ".join(parts), expected_text, detail)


def check_memory(model: SelftestModel, unit: str, outcome: RunOutcome) -> CheckResult:
    """The model's footprint (peak minus baseline) against its known weight size."""
    low, high = (int(model.weight_bytes * f) for f in MEMORY_BAND)
    high += MEMORY_SLACK_BYTES
    expected = (
        f"{low / MIB:.1f}–{high / MIB:.1f} MiB for {model.weight_bytes / MIB:.0f} MiB weights"
    )
    if outcome.outcome is not Outcome.COMPLETED:
        return _not_completed("memory sampling", unit, outcome, expected)
    peak = outcome.memory.peak_bytes
    if peak is None:
        return _result("memory sampling", unit, False, "no peak footprint", expected)
    footprint = peak - (outcome.memory.baseline_bytes or 0)
    ok = low <= footprint <= high
    measured = f"{footprint / MIB:.1f} MiB (peak {peak / MIB:.1f} MiB, {outcome.memory.source})"
    detail = "" if ok else "the sampled footprint does not track the model's size"
    return _result("memory sampling", unit, ok, measured, expected, detail)


def check_jetsam(
    model: SelftestModel, unit: str, outcome: RunOutcome, limit_bytes: int
) -> CheckResult:
    """A model beyond the app's limit must come back ``oom_killed``, never ``crashed``."""
    needs, limit = model.activation_bytes / MIB, limit_bytes / MIB
    expected = f"oom_killed (needs {needs:.0f} MiB, limit {limit:.0f} MiB)"
    ok = outcome.outcome is Outcome.OOM_KILLED
    detail = ""
    if outcome.outcome is Outcome.CRASHED:
        detail = "a jetsam kill was taken for a crash: the JetsamEvent report was not found"
    elif outcome.outcome is Outcome.COMPLETED:
        detail = "the device ran a model larger than its limit: the limit or the footprint is wrong"
    elif not ok:
        detail = outcome.error or ""
    return _result("jetsam classification", unit, ok, outcome.outcome.value, expected, detail)


def check_latency(model: SelftestModel, unit: str, outcome: RunOutcome) -> CheckResult:
    """Positive phases, a first prediction not much faster than steady state, and a per-op
    steady-state time in a plausible band."""
    lo, hi = PER_OP_MS_BAND
    expected = (
        f"every phase > 0, first ≥ {FIRST_OVER_STEADY_MIN:g}× p50, "
        f"p50/op in [{lo:g}, {hi:g}] ms over {model.op_count} ops"
    )
    if outcome.outcome is not Outcome.COMPLETED:
        return _not_completed("latency sanity", unit, outcome, expected)
    t = outcome.timings
    phases = {
        "cold load": t.cold_load_ms,
        "warm load": t.warm_load_ms,
        "first prediction": t.first_prediction_ms,
        "steady min": t.latency.min_ms if t.latency else None,
    }
    problems = [
        f"{k} {'missing' if v is None else f'{v:g} ms'}"
        for k, v in phases.items()
        if v is None or v <= 0
    ]
    p50 = t.latency.p50_ms if t.latency else 0.0
    first = t.first_prediction_ms or 0.0
    if not problems:
        if first < FIRST_OVER_STEADY_MIN * p50:
            problems.append(f"first prediction {first:g} ms ≪ p50 {p50:g} ms")
        per_op = p50 / max(model.op_count, 1)
        if not lo <= per_op <= hi:
            problems.append(f"p50/op {per_op:g} ms")
    measured = f"first {first:g} ms, p50 {p50:g} ms" + (
        f", {'; '.join(problems)}" if problems else ""
    )
    detail = (
        "phase timings are wrong: zero, negative, swapped or in the wrong unit" if problems else ""
    )
    return _result("latency sanity", unit, not problems, measured, expected, detail)


def check_compute_plan(model: SelftestModel, unit: str, outcome: RunOutcome) -> CheckResult:
    """When the OS gives a compute plan, it lists each op of the chain once."""
    expected = f"{model.op_count} {'/'.join(CHAIN_OP_TYPES)} ops placed"
    if outcome.outcome is not Outcome.COMPLETED:
        return _not_completed("compute plan", unit, outcome, expected)
    if not outcome.compute_plan:
        why = next((w for w in outcome.warnings if "compute plan" in w), "the device gave none")
        return CheckResult(
            check="compute plan",
            compute_unit=unit,
            status=CheckStatus.SKIPPED,
            measured="no compute plan",
            expected=expected,
            detail=why,
        )
    placed = [e for e in outcome.compute_plan if e.op_type in CHAIN_OP_TYPES]
    units = sorted({e.preferred for e in placed})
    ok = len(placed) == model.op_count
    measured = f"{len(placed)} ops placed on {','.join(units) or '-'}"
    detail = "" if ok else "the compute plan does not list the model's ops"
    return _result("compute plan", unit, ok, measured, expected, detail)
