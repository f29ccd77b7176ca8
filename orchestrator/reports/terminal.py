"""The terminal table: one row per (device, compute unit) run."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.reports.summary import (
    latency_text,
    memory_text,
    metrics_line,
    reference_kind_of,
    reference_sentence,
    verdict_of,
    worst_output,
)
from orchestrator.wire import RunResult, RunStatus

_STATUS_STYLE = {
    RunStatus.PASSED: "green",
    RunStatus.PARITY_FAILED: "red",
    RunStatus.BUDGET_FAILED: "yellow",
    RunStatus.OOM_KILLED: "red",
    RunStatus.CRASHED: "red",
}


def results_table(
    results: Sequence[RunResult], *, reference_description: str | None = None
) -> Table:
    """A rich table of the runs with the reference explained in the caption."""
    table = Table(
        title="Pomar results",
        caption=reference_sentence(reference_kind_of(results), reference_description),
        caption_justify="left",
    )
    table.add_column("device")
    table.add_column("unit")
    table.add_column("status")
    table.add_column("parity")
    table.add_column("worst output", overflow="fold")
    table.add_column("p50 / p90 ms", justify="right")
    table.add_column("peak memory", justify="right")
    table.add_column("triage")
    for r in sorted(results, key=lambda r: (r.device.marketing_name, r.compute_unit.value)):
        triage = r.parity.triage.value if r.parity and r.parity.triage else ""
        table.add_row(
            f"{r.device.marketing_name} ({r.device.udid})",
            r.compute_unit.value,
            Text(r.status.value, style=_STATUS_STYLE.get(r.status, "magenta")),
            verdict_of(r),
            metrics_line(worst_output(r)) if r.parity else (r.error or "—"),
            latency_text(r),
            memory_text(r),
            triage,
        )
    return table


def print_results(
    results: Sequence[RunResult],
    *,
    reference_description: str | None = None,
    console: Console | None = None,
) -> None:
    """Print :func:`results_table` (to stdout unless a console is given)."""
    (console or Console()).print(
        results_table(results, reference_description=reference_description)
    )
