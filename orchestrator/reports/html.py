"""``--html``: one self-contained page (inline CSS and SVG), readable from a file:// URL."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from orchestrator.parity.detail import error_histogram, worst_elements
from orchestrator.preflight import html_section
from orchestrator.reports import plots
from orchestrator.reports.arrays import ArrayLoader, stored_arrays
from orchestrator.reports.document import ResultsDocument
from orchestrator.reports.history import comparison_html
from orchestrator.reports.summary import (
    environment_text,
    failure_reasons,
    latency_text,
    memory_text,
    metrics_line,
    reference_kind_of,
    reference_sentence,
    verdict_of,
    worst_output,
)
from orchestrator.reports.writer import ReportWriter
from pomar_core.artifacts import ArtifactStore
from pomar_core.wire import RunResult

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}.passed{color:#2e7d32}
.parity_failed,.crashed,.oom_killed,.error{color:#c62828}.budget_failed{color:#b26a00}
code{font-size:.9em}.note{color:#555;font-size:.9em;margin:.2em 0}
svg{max-width:100%;height:auto}footer{margin-top:2em;color:#555}
"""


class HtmlWriter(ReportWriter):
    """The page; histograms of the runs' arrays when an artifact store holds them."""

    def __init__(self, artifacts: ArtifactStore | None = None) -> None:
        self.artifacts = artifacts

    def render(self, document: ResultsDocument) -> str:
        load = None
        if self.artifacts is not None and document.reference is not None:
            load = stored_arrays(self.artifacts, document.reference)
        return html_report(document, load_arrays=load)


def html_report(
    document: ResultsDocument, *, load_arrays: ArrayLoader | None = None, worst_n: int = 10
) -> str:
    """The HTML page as text: runs, plots, outputs, then the preflight findings and the
    baseline comparison when the document has them."""
    e = html.escape
    job, results = document.job, document.results
    title = f"Pomar report — {job.model.name} ({job.job_id})" if job else "Pomar report"
    if document.preflight_only and document.preflight is not None:
        title = f"Pomar preflight — {document.preflight.model}"
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>",
        f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1>",
    ]
    if document.notices:
        items = "".join(f"<li>{e(n)}</li>" for n in document.notices)
        parts.append(f"<ul class='notices'>{items}</ul>")
    if document.preflight_only and document.preflight is not None:
        parts.append(html_section(document.preflight))
        return "\n".join([*parts, "</body></html>"])
    parts += ["<h2>Runs</h2>", _runs_table(results)]
    if results:
        parts += ["<h2>Verdict matrix</h2>", plots.verdict_matrix(results)]
    for heading, svg in (
        ("Latency distribution", plots.latency_distribution(results)),
        ("Memory vs device limit", plots.memory_vs_limit(results)),
    ):
        if svg:
            parts += [f"<h2>{heading}</h2>", svg]
    parts.append("<h2>Outputs</h2>")
    for i, r in enumerate(results):
        parts.append(_run_outputs(r, i, load_arrays, worst_n))
    if document.preflight is not None:
        parts.append(html_section(document.preflight))
    if document.comparison is not None:
        parts.append(comparison_html(document.comparison))
    description = document.reference.description if document.reference else None
    ref = reference_sentence(reference_kind_of(results), description)
    parts.append(f"<footer>{e(ref)}</footer></body></html>")
    return "\n".join(parts)


def _runs_table(results: Sequence[RunResult]) -> str:
    e = html.escape
    rows = [
        "<table><tr><th>device</th><th>unit</th><th>status</th><th>parity</th>"
        "<th>worst output</th><th>p50 / p90 ms</th><th>peak memory</th><th>device state</th>"
        "<th>why</th></tr>"
    ]
    for r in results:
        why = "<br>".join(e(x) for x in failure_reasons(r))
        rows.append(
            f"<tr><td>{e(r.device.marketing_name)} <code>{e(r.device.udid)}</code></td>"
            f"<td>{e(r.compute_unit.value)}</td>"
            f"<td class='{e(r.status.value)}'>{e(r.status.value)}</td>"
            f"<td>{e(verdict_of(r))}</td><td>{e(metrics_line(worst_output(r)))}</td>"
            f"<td>{e(latency_text(r))}</td><td>{e(memory_text(r))}</td>"
            f"<td>{e(environment_text(r) or '—')}</td><td>{why}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _run_outputs(r: RunResult, i: int, load: ArrayLoader | None, worst_n: int) -> str:
    e = html.escape
    out = [f"<h3>{e(r.device.marketing_name)} · {e(r.compute_unit.value)}</h3>"]
    if r.parity is None:
        out.append("<p>No comparison for this run.</p>")
        return "".join(out)
    arrays = load(r) if load is not None else None
    if r.parity.triage is not None:
        detail = f": {r.parity.triage_detail}" if r.parity.triage_detail else ""
        out.append(f"<p><b>triage {e(r.parity.triage.value)}</b>{e(detail)}</p>")
    if r.parity.extra_outputs:
        names = ", ".join(r.parity.extra_outputs)
        out.append(
            f"<p class='note'>outputs the reference does not have (not judged): {e(names)}</p>"
        )
    for j, o in enumerate(r.parity.outputs):
        out.append(
            f"<h4>{e(o.name)} <span class='{e(o.verdict.value)}'>{e(o.verdict.value)}"
            f"</span></h4><p>{e(metrics_line(o))}</p>"
        )
        if o.failures:
            out.append("<ul>" + "".join(f"<li>{e(f)}</li>" for f in o.failures) + "</ul>")
        if o.notes:
            out.append("".join(f"<p class='note'>note: {e(n)}</p>" for n in o.notes))
        if arrays is not None and o.name in arrays[0] and o.name in arrays[1]:
            ref, act = arrays[0][o.name], arrays[1][o.name]
            if ref.size == act.size:
                hist = error_histogram(ref, act)
                out.append(plots.error_histogram_svg(o.name, hist, f"hist-{i}-{j}"))
                out.append(_worst_table(worst_elements(ref, act, worst_n)))
        elif o.worst_index is not None:
            out.append(
                f"<p>worst element {e(str(o.worst_index))}: reference {o.worst_reference!r}, "
                f"output {o.worst_actual!r}</p>"
            )
    return "".join(out)


def _worst_table(rows: Sequence[Any]) -> str:
    if not rows:
        return "<p>All elements equal.</p>"
    body = "".join(
        f"<tr><td>{html.escape(str(w.index))}</td><td>{w.reference:.6g}</td>"
        f"<td>{w.actual:.6g}</td><td>{w.abs_error:.3g}</td></tr>"
        for w in rows
    )
    return (
        "<table class='worst'><tr><th>index</th><th>reference</th><th>output</th>"
        f"<th>abs error</th></tr>{body}</table>"
    )
