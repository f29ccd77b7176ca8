"""Inline SVG plots made with matplotlib (no pyplot state, no display, text kept as text)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from orchestrator.parity.detail import ErrorHistogram
from pomar_core.wire import RunResult

_VERDICT_VALUE = {"passed": 1.0, "failed": 0.0}


def _svg(fig: Any, salt: str) -> str:
    import matplotlib

    buf = io.StringIO()
    # Text stays text (searchable, small); a salt per figure keeps ids unique in one page.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=96)


def verdict_matrix(results: Sequence[RunResult]) -> str:
    """Device × compute unit grid coloured by status."""
    devices = sorted({r.device.marketing_name + " · " + r.device.udid for r in results})
    units = sorted({r.compute_unit.value for r in results})
    fig = _figure(1.6 + 1.2 * len(units), 0.8 + 0.45 * len(devices))
    ax = fig.add_subplot()
    colours = {"passed": "#2e7d32", "parity_failed": "#c62828", "budget_failed": "#f9a825"}
    for r in results:
        y = devices.index(r.device.marketing_name + " · " + r.device.udid)
        x = units.index(r.compute_unit.value)
        ax.add_patch(_rect(x, y, colours.get(r.status.value, "#6a1b9a")))
        ax.text(
            x + 0.5, y + 0.5, r.status.value, ha="center", va="center", color="white", fontsize=8
        )
    ax.set_xlim(0, len(units))
    ax.set_ylim(len(devices), 0)
    ax.set_xticks([i + 0.5 for i in range(len(units))], units)
    ax.set_yticks([i + 0.5 for i in range(len(devices))], devices)
    ax.tick_params(length=0)
    ax.set_title("verdicts")
    return _svg(fig, "matrix")


def _rect(x: int, y: int, colour: str) -> Any:
    from matplotlib.patches import Rectangle

    return Rectangle((x + 0.03, y + 0.05), 0.94, 0.9, color=colour)


def latency_distribution(results: Sequence[RunResult]) -> str | None:
    """Box plot of steady-state latency samples per run."""
    runs = [r for r in results if r.timings.latency is not None]
    if not runs:
        return None
    fig = _figure(7, 0.8 + 0.4 * len(runs))
    ax = fig.add_subplot()
    samples = [list(r.timings.latency.samples_ms) for r in runs]  # type: ignore[union-attr]
    labels = [_label(r) for r in runs]
    try:
        ax.boxplot(samples, orientation="horizontal", tick_labels=labels)
    except TypeError:  # matplotlib < 3.10 has only ``vert`` (deprecated from 3.11)
        ax.boxplot(samples, vert=False, labels=labels)
    ax.set_xlabel("latency (ms)")
    ax.set_title("latency distribution")
    return _svg(fig, "latency")


def memory_vs_limit(results: Sequence[RunResult]) -> str | None:
    """Peak memory per run against the device's limit (or RAM) when known."""
    runs = [r for r in results if r.memory.peak_bytes is not None]
    if not runs:
        return None
    fig = _figure(7, 0.8 + 0.4 * len(runs))
    ax = fig.add_subplot()
    mib = 2**20
    labels = [_label(r) for r in runs]
    peaks = [(r.memory.peak_bytes or 0) / mib for r in runs]
    ax.barh(labels, peaks, color="#1565c0", label="peak")
    for i, r in enumerate(runs):
        limit = r.memory.device_limit_bytes or r.device.ram_bytes
        if limit:
            ax.plot([limit / mib] * 2, [i - 0.4, i + 0.4], color="#c62828", linewidth=2)
    ax.set_xlabel("MiB (red: device limit)")
    ax.set_title("peak memory vs device limit")
    return _svg(fig, "memory")


def error_histogram_svg(name: str, hist: ErrorHistogram, salt: str) -> str:
    """Bars of log10|error| counts for one output."""
    fig = _figure(6, 2.4)
    ax = fig.add_subplot()
    edges = hist.edges
    ax.bar(edges[:-1], hist.counts, width=edges[1] - edges[0], align="edge", color="#455a64")
    ax.set_yscale("symlog")
    ax.set_xlabel("log10 |error|")
    extra = f"; exact: {hist.zeros}, NaN/Inf: {hist.nonfinite}"
    ax.set_title(f"{name}: error histogram{extra}", fontsize=9)
    return _svg(fig, salt)


def _label(r: RunResult) -> str:
    return f"{r.device.marketing_name} {r.compute_unit.value}"
