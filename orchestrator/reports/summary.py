"""What every report says about a run: its worst output and why it failed, in one line."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.parity.budgets import check_budgets, format_bytes
from orchestrator.reports.localised import localisation_sentence
from pomar_core.wire import Budgets, OutputParity, RunResult, RunStatus, Verdict

REFERENCE_KINDS = {
    "source_fp32": "the source model (PyTorch) in fp32 on the desktop",
    "emulator_fp32": "Pomar's emulator running the Core ML program in fp32 "
    "(no source model was given, so conversion errors cannot show)",
}


def reference_sentence(kind: str | None, description: str | None = None) -> str:
    """The footer every report prints: what the outputs were compared with."""
    if description:
        return f"Reference: {description}"
    if kind is None:
        return "Reference: none (no run was compared)"
    return f"Reference: {REFERENCE_KINDS.get(kind, kind)}"


def worst_output(result: RunResult) -> OutputParity | None:
    """The failing output with the largest relative L2, else the largest of all."""
    if result.parity is None or not result.parity.outputs:
        return None
    outputs = result.parity.outputs
    failing = [o for o in outputs if o.verdict is Verdict.FAILED]
    pool = failing or list(outputs)

    def key(o: OutputParity) -> float:
        rel = o.metrics.relative_l2
        return float("inf") if rel is None else rel

    return max(pool, key=key)


def metrics_line(output: OutputParity | None) -> str:
    """``logits: rel L2 0.031, max abs 0.12, cos 0.9991, NaN 0/0, Inf 0/3``."""
    if output is None:
        return "—"
    m = output.metrics
    parts = [output.name + ":"]
    if m.relative_l2 is not None:
        parts.append(f"rel L2 {m.relative_l2:.3g},")
    if m.max_abs_error is not None:
        parts.append(f"max abs {m.max_abs_error:.3g},")
    if m.cosine_similarity is not None:
        parts.append(f"cos {m.cosine_similarity:.6g},")
    if m.top1_agreement is not None:
        parts.append(f"top-1 {m.top1_agreement:.0%},")
    if m.reference_nan or m.actual_nan or m.reference_inf or m.actual_inf:
        parts.append(
            f"NaN {m.reference_nan}/{m.actual_nan}, Inf {m.reference_inf}/{m.actual_inf} (ref/out)"
        )
    if output.actual_shape is None or (output.failures and not output.metrics.relative_l2):
        parts.append(output.failures[0] if output.failures else "")
    return " ".join(parts).rstrip(",")


def failure_reasons(result: RunResult, budgets: Budgets | None = None) -> list[str]:
    """Why a run did not pass, one sentence each; empty for a passed or unfinished run.

    Budget violations come from the result; ``budgets`` only serves older results that did
    not record them.
    """
    reasons: list[str] = []
    if result.status is RunStatus.PASSED or not result.status.finished:
        return reasons
    if result.error:
        reasons.append(result.error)
    if result.parity is not None:
        for o in result.parity.outputs:
            reasons += [f"{o.name}: {f}" for f in o.failures]
        if result.parity.triage is not None:
            detail = f": {result.parity.triage_detail}" if result.parity.triage_detail else ""
            reasons.append(f"triage {result.parity.triage.value}{detail}")
    if result.localisation is not None:
        reasons.append(localisation_sentence(result.localisation))
    if result.budget_violations:
        reasons += result.budget_violations
    elif result.status is RunStatus.BUDGET_FAILED and budgets is not None:
        # A result recorded before the judge kept its violations: work them out again.
        reasons += check_budgets(result.timings, result.memory, budgets, result.device)
    if not reasons:
        reasons.append(f"run ended with status {result.status.value}")
    return reasons


def verdict_of(result: RunResult) -> str:
    """``passed``/``failed`` from parity, or ``—`` when the run produced no comparison."""
    return result.parity.verdict.value if result.parity is not None else "—"


def memory_text(result: RunResult) -> str:
    peak = result.memory.peak_bytes
    if peak is None:
        return "—"
    limit = result.memory.device_limit_bytes
    return f"{format_bytes(peak)} / {format_bytes(limit)}" if limit else format_bytes(peak)


def latency_text(result: RunResult) -> str:
    lat = result.timings.latency
    return "—" if lat is None else f"{lat.p50_ms:.3g} / {lat.p90_ms:.3g}"


def reference_kind_of(results: Sequence[RunResult]) -> str | None:
    return next((r.parity.reference_kind for r in results if r.parity is not None), None)


def worst_cell(result: RunResult) -> str:
    """The worst output in a few words for a table cell: ``logits L2 0.031``, ``y NaN/Inf 3``."""
    if result.parity is None:
        return "—"
    o = worst_output(result)
    if o is None:
        return "no outputs"
    m = o.metrics
    if o.actual_shape is None:
        return f"{o.name} missing"
    if o.metrics.relative_l2 is None and o.failures and "shape" in o.failures[0]:
        return f"{o.name} shape"
    bad = m.actual_nan + m.actual_inf - m.reference_nan - m.reference_inf
    if bad > 0:
        return f"{o.name} NaN/Inf {bad}"
    if m.relative_l2 is None:
        return o.name
    return f"{o.name} L2 {m.relative_l2:.2g}"


def environment_text(result: RunResult) -> str | None:
    """``thermal nominal → fair, battery 81% → 79%, Low Power Mode`` or None when unknown."""
    env = result.environment
    if env is None:
        return None
    parts: list[str] = []
    if env.thermal_before or env.thermal_after:
        before, after = env.thermal_before or "?", env.thermal_after or "?"
        parts.append(f"thermal {before}" if before == after else f"thermal {before} → {after}")
    if env.battery_before is not None or env.battery_after is not None:
        parts.append(f"battery {_share(env.battery_before)} → {_share(env.battery_after)}")
    if env.low_power_mode:
        parts.append("Low Power Mode")
    return ", ".join(parts) or None


def environment_is_notable(result: RunResult) -> bool:
    """A device state that may explain slow numbers: hot, or in Low Power Mode."""
    env = result.environment
    if env is None:
        return False
    hot = {env.thermal_before, env.thermal_after} & {"serious", "critical"}
    return bool(hot) or bool(env.low_power_mode)


def _share(x: float | None) -> str:
    return "?" if x is None else f"{x:.0%}"
