"""The terminal report: a compact table, one line per run, then why each failed run failed.

The table holds only short cells (device, unit, status, latency, memory, worst output in a few
words) so that it fits 80 columns without wrapping; sentences (failed rules, triage, budget
violations, errors, device state) go below it, one paragraph per failed run, where the terminal
can wrap them like prose.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from orchestrator.reports.document import ResultsDocument
from orchestrator.reports.history import comparison_renderable
from orchestrator.reports.summary import (
    environment_is_notable,
    environment_text,
    failure_reasons,
    latency_text,
    memory_text,
    reference_kind_of,
    reference_sentence,
    worst_cell,
)
from pomar_core.wire import Budgets, RunResult, RunStatus, Verdict

_STATUS_STYLE = {
    RunStatus.PASSED: "green",
    RunStatus.PARITY_FAILED: "red",
    RunStatus.BUDGET_FAILED: "yellow",
    RunStatus.OOM_KILLED: "red",
    RunStatus.CRASHED: "red",
}


def _ordered(results: Sequence[RunResult]) -> list[RunResult]:
    return sorted(results, key=lambda r: (r.device.marketing_name, r.device.udid, r.compute_unit))


def device_label(result: RunResult, results: Sequence[RunResult]) -> str:
    """The marketing name, plus the udid's tail when two devices of the job share the name."""
    name = result.device.marketing_name
    udids = {r.device.udid for r in results if r.device.marketing_name == name}
    return f"{name} …{result.device.udid[-4:]}" if len(udids) > 1 else name


def results_table(
    results: Sequence[RunResult], *, reference_description: str | None = None
) -> Table:
    """One line per (device, compute unit) run; the reference explained in the caption."""
    table = Table(
        title="Pomar results",
        caption=reference_sentence(reference_kind_of(results), reference_description),
        caption_justify="left",
        show_edge=False,
        collapse_padding=True,
    )
    table.add_column("device", no_wrap=True, overflow="ellipsis", max_width=22)
    table.add_column("unit", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("p50/p90 ms", justify="right", no_wrap=True, min_width=10)
    table.add_column("peak", justify="right", no_wrap=True)
    table.add_column("worst output", no_wrap=True, overflow="ellipsis", min_width=8)
    for r in _ordered(results):
        table.add_row(
            device_label(r, results),
            r.compute_unit.value,
            Text(r.status.value, style=_STATUS_STYLE.get(r.status, "magenta")),
            latency_text(r).replace(" / ", "/"),
            _peak(r),
            worst_cell(r),
        )
    return table


def run_details(
    results: Sequence[RunResult], budgets: Budgets | None = None
) -> list[RenderableType]:
    """A paragraph per run worth explaining: failed runs, and runs on a hot or throttled device.

    A failed run lists every reason (failed rules per output, triage label and evidence, budget
    violations, the error) and its device state; notes on its outputs follow.
    """
    out: list[RenderableType] = []
    for r in _ordered(results):
        reasons = failure_reasons(r, budgets)
        notable = environment_is_notable(r)
        if not reasons and not notable:
            continue
        head = Text()
        head.append("✗ " if reasons else "! ", style="red" if reasons else "yellow")
        head.append(f"{r.device.marketing_name} ({r.device.udid}) · {r.compute_unit.value}: ")
        head.append(r.status.value, style=_STATUS_STYLE.get(r.status, "magenta"))
        body = [Text(reason) for reason in reasons]
        if r.parity is not None:
            failed = [o for o in r.parity.outputs if o.verdict is Verdict.FAILED]
            for o in failed:
                body += [Text(f"{o.name}: note: {note}", style="dim") for note in o.notes]
        env = environment_text(r)
        if env is not None:
            body.append(Text(f"device: {env}", style="dim"))
        # Indented as a block, so a long sentence wraps under itself, not under the heading.
        out.append(Group(head, Padding(Group(*body), (0, 0, 0, 4))))
    extra = Counter(name for r in results if r.parity for name in r.parity.extra_outputs)
    if extra:
        names = ", ".join(sorted(extra))
        out.append(Text(f"Outputs the reference does not have (not judged): {names}", style="dim"))
    return out


def results_renderable(
    results: Sequence[RunResult],
    *,
    reference_description: str | None = None,
    budgets: Budgets | None = None,
) -> RenderableType:
    """The table and the details below it, as one renderable."""
    parts: list[RenderableType] = [
        results_table(results, reference_description=reference_description)
    ]
    details = run_details(results, budgets)
    if details:
        parts.append(Text(""))
        parts.extend(details)
    return Group(*parts)


def print_results(
    results: Sequence[RunResult],
    *,
    reference_description: str | None = None,
    console: Console | None = None,
    budgets: Budgets | None = None,
) -> None:
    """Print the table and the failed runs' details (to stdout unless a console is given)."""
    (console or Console()).print(
        results_renderable(results, reference_description=reference_description, budgets=budgets)
    )


def print_document(document: ResultsDocument, console: Console | None = None) -> None:
    """Print a results document: the runs as :func:`print_results` does, then the baseline
    comparison when it has one."""
    console = console or Console()
    print_results(
        document.results,
        reference_description=document.reference.description if document.reference else None,
        console=console,
        budgets=document.budgets,
    )
    if document.comparison is not None:
        console.print(comparison_renderable(document.comparison))
    for notice in document.notices:
        console.print(Text(f"! {notice}", style="yellow"))


def _peak(r: RunResult) -> str:
    # The limit goes to the HTML report; here the number alone keeps the column narrow.
    text = memory_text(r)
    return text.split(" / ")[0]
