"""A job against its baseline in every report format: terminal, HTML section, JUnit suite."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from orchestrator.history import JobComparison, RunComparison, Trend

_TREND_STYLE = {Trend.REGRESSED: "red", Trend.IMPROVED: "green"}


def latency_cell(run: RunComparison) -> str:
    """``12.1→18.3 ×1.5`` or ``12.1→12.3`` or ``—``."""
    lat = run.latency
    if lat is None:
        return "—"
    text = f"{lat.baseline_p50_ms:.3g}→{lat.current_p50_ms:.3g}"
    if lat.trend is Trend.REGRESSED and lat.bucket is not None:
        text += f" ×{lat.bucket:g}"
    elif lat.trend is Trend.IMPROVED and lat.bucket is not None:
        text += f" ÷{lat.bucket:g}"
    elif lat.trend is Trend.INSUFFICIENT:
        text += " ?"
    return text


def memory_cell(run: RunComparison) -> str:
    mem = run.memory
    if mem is None:
        return "—"
    mib = 2**20
    text = f"{mem.baseline_bytes / mib:.0f}→{mem.current_bytes / mib:.0f}"
    if mem.trend is Trend.REGRESSED and mem.bucket is not None:
        text += f" ×{mem.bucket:g}"
    return text


def verdict_word(run: RunComparison) -> str:
    if run.regressions:
        return "regressed"
    return "improved" if run.improvements else "same"


def comparison_renderable(comparison: JobComparison) -> RenderableType:
    """A table (one line per matched run) and the regressions below it."""
    table = Table(
        title=f"Against baseline {comparison.baseline_job_id}",
        show_edge=False,
        collapse_padding=True,
    )
    table.add_column("device", no_wrap=True, overflow="ellipsis", max_width=22)
    table.add_column("unit", no_wrap=True)
    table.add_column("change", no_wrap=True)
    table.add_column("p50 ms", no_wrap=True)
    table.add_column("peak MiB", no_wrap=True)
    table.add_column("parity", no_wrap=True, overflow="ellipsis")
    for run in comparison.runs:
        word = verdict_word(run)
        style = "red" if word == "regressed" else "green" if word == "improved" else ""
        drift = f"{len(run.drift)} drift" if run.drift else "—"
        table.add_row(
            run.device.split(" (")[0],
            run.compute_unit,
            Text(word, style=style),
            latency_cell(run),
            memory_cell(run),
            drift,
        )
    parts: list[RenderableType] = [Text(""), table]
    for run in comparison.runs:
        lines = [Text(f"regressed: {s}", style="red") for s in run.regressions]
        lines += [Text(f"improved: {s}", style="green") for s in run.improvements]
        lines += [Text(f"note: {s}", style="dim") for s in run.notes]
        if run.regressions or run.improvements:
            head = Text(f"{run.device} · {run.compute_unit} (baseline {run.baseline_run_id})")
            parts.append(Group(head, Padding(Group(*lines), (0, 0, 0, 4))))
    if comparison.unmatched:
        parts.append(Text("No baseline run for: " + "; ".join(comparison.unmatched), style="dim"))
    if comparison.baseline_unmatched:
        missing = "; ".join(comparison.baseline_unmatched)
        parts.append(Text(f"In the baseline only: {missing}", style="dim"))
    return Group(*parts)


def comparison_html(comparison: JobComparison) -> str:
    """An HTML section (trusted fragment for ``html_report(sections=...)``)."""
    e = html.escape
    rows = [
        f"<h2>Against baseline {e(comparison.baseline_job_id)}</h2>",
        "<table><tr><th>device</th><th>unit</th><th>change</th><th>p50 ms</th>"
        "<th>peak MiB</th><th>details</th></tr>",
    ]
    for run in comparison.runs:
        word = verdict_word(run)
        css = {"regressed": "parity_failed", "improved": "passed"}.get(word, "")
        details = [*run.regressions, *run.improvements, *run.notes]
        rows.append(
            f"<tr><td>{e(run.device)}</td><td>{e(run.compute_unit)}</td>"
            f"<td class='{css}'>{word}</td><td>{e(latency_cell(run))}</td>"
            f"<td>{e(memory_cell(run))}</td>"
            f"<td>{'<br>'.join(e(d) for d in details) or '—'}</td></tr>"
        )
    rows.append("</table>")
    for label, items in (
        ("No baseline run for", comparison.unmatched),
        ("In the baseline only", comparison.baseline_unmatched),
    ):
        if items:
            rows.append(f"<p class='note'>{label}: {e('; '.join(items))}</p>")
    return "".join(rows)


def comparison_suite(comparison: JobComparison) -> ET.Element:
    """A JUnit ``testsuite``: one case per matched run, a failure per regressed run."""
    suite = ET.Element("testsuite", name=f"pomar.history.{comparison.baseline_job_id}")
    failures = 0
    for run in comparison.runs:
        case = ET.SubElement(
            suite,
            "testcase",
            name=f"{run.device} {run.compute_unit} vs {run.baseline_run_id}",
            classname=f"pomar.history.{comparison.job_id}.{run.product_type}",
            time="0.000",
        )
        if run.regressions:
            failures += 1
            node = ET.SubElement(case, "failure", message=run.regressions[0], type="regression")
            node.text = "\n".join(run.regressions)
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join([*run.improvements, *run.notes]) or "no change"
    suite.set("tests", str(len(comparison.runs)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    suite.set("time", "0.000")
    return suite
