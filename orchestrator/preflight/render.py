"""Drawing a :class:`PreflightReport`: a rich terminal summary and an HTML section.

``html_section`` returns a fragment (``<section class='preflight'>…``) with no page chrome,
so the HTML report can fold preflight findings into its own page; it uses the report's table
styles and the status classes ``passed``/``budget_failed``/``error`` for fits/tight/killed.
"""

from __future__ import annotations

import html

from rich.console import Console
from rich.table import Table
from rich.text import Text

from orchestrator.preflight.memory import human_bytes
from orchestrator.preflight.report import (
    DeviceMemory,
    MemoryVerdict,
    PreflightReport,
    Severity,
)

_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "dim"}
_VERDICT_STYLE = {
    MemoryVerdict.FITS: "green",
    MemoryVerdict.TIGHT: "yellow",
    MemoryVerdict.KILLED: "red",
}
_VERDICT_CLASS = {
    MemoryVerdict.FITS: "passed",
    MemoryVerdict.TIGHT: "budget_failed",
    MemoryVerdict.KILLED: "error",
}


def render_terminal(report: PreflightReport, console: Console, *, verbose: bool = False) -> None:
    """The summary: conversions, inventory, memory per device, findings, the verdict."""
    versions = ", ".join(f"{k} {v}" for k, v in report.versions)
    console.print(f"[bold]Preflight[/bold] {report.model} at {report.precision.value} ({versions})")
    if report.conversions:
        table = Table("front end", "target", "converts", "why not", title="Conversion")
        for a in report.conversions:
            ok = Text("yes", style="green") if a.converted else Text("no", style="red")
            why = a.error or ""
            if a.unsupported_ops:
                why = "unsupported torch ops: " + "; ".join(
                    f"{u.op} ×{u.count} in {', '.join(p or '<top>' for p in u.module_paths[:3])}"
                    for u in a.unsupported_ops
                )
            if a.shims:
                why = f"with converter shims: {', '.join(a.shims)}"
            table.add_row(a.front_end, a.deployment_target, ok, why)
        console.print(table)
    inv = report.inventory
    if inv is not None:
        ops = ", ".join(f"{o.op_type}×{o.count}" for o in inv.ops[: 12 if not verbose else None])
        more = f" (+{len(inv.ops) - 12} types)" if len(inv.ops) > 12 and not verbose else ""
        console.print(
            f"[bold]Model[/bold] {inv.model_type} spec {inv.specification_version} "
            f"({inv.deployment_target or '?'}), {inv.parameters:,} parameters, "
            f"{human_bytes(inv.weight_bytes)} of weights"
            + "".join(
                f"; {w.dtype}/{w.compression} {human_bytes(w.stored_bytes)}" for w in inv.weights
            )
        )
        console.print(f"[bold]Ops[/bold] {ops}{more}")
        for role, specs in (("in", inv.inputs), ("out", inv.outputs)):
            for s in specs:
                flex = ""
                if s.shape_range:
                    flex = " range " + str([f"{lo}..{hi}" for lo, hi in s.shape_range])
                elif s.enumerated_shapes:
                    flex = f" one of {[list(e) for e in s.enumerated_shapes]}"
                console.print(f"  {role:>3} {s.name}: {s.dtype.value}{list(s.shape)}{flex}")
    mem = report.memory
    if mem is not None:
        console.print(
            f"[bold]Memory[/bold] {human_bytes(mem.total_bytes)} per prediction = weights "
            f"{human_bytes(mem.weight_bytes)} + peak activations "
            f"{human_bytes(mem.peak_activation_bytes)} (at {mem.peak_op or 'the inputs'})"
        )
        rows = mem.devices if verbose else _distinct_limits(report)
        if rows:
            table = Table("iPhone", "RAM", "app limit", "use", "verdict")
            for d in rows:
                table.add_row(
                    f"{d.marketing_name} ({d.product_type})",
                    human_bytes(d.ram_bytes),
                    human_bytes(d.limit_bytes),
                    f"{d.share:.0%}",
                    Text(d.verdict.value, style=_VERDICT_STYLE[d.verdict]),
                )
            console.print(table)
    if report.findings:
        table = Table("severity", "id", "where", "finding", title="Findings")
        for f in report.findings:
            if f.severity is Severity.INFO and not verbose:
                continue
            text = Text(f.message)
            if f.hint:
                text.append(f"\n→ {f.hint}", style="dim")
            if f.source:
                text.append(f"\n{f.source}", style="dim underline")
            table.add_row(
                Text(f.severity.value, style=_SEVERITY_STYLE[f.severity]), f.id, f.op or "", text
            )
        console.print(table)
        infos = sum(1 for f in report.findings if f.severity is Severity.INFO)
        if infos and not verbose:
            console.print(f"[dim]{infos} info finding(s) hidden; --verbose shows them[/dim]")
    if report.blocking:
        console.print(f"[bold red]✗ {report.refusal_reason}[/bold red]")
    else:
        console.print("[bold green]✓ nothing blocks a device run[/bold green]")


def html_section(report: PreflightReport) -> str:
    """The report as an HTML fragment to fold into the HTML report."""
    e = html.escape
    parts = [f"<section class='preflight'><h2>Preflight — {e(report.model)}</h2>"]
    verdict = (
        f"<p class='error'>{e(report.refusal_reason or '')}</p>"
        if report.blocking
        else "<p class='passed'>Nothing blocks a device run.</p>"
    )
    parts.append(verdict)
    if report.memory is not None:
        mem = report.memory
        parts.append(
            f"<p>Memory per prediction: {e(human_bytes(mem.total_bytes))} (weights "
            f"{e(human_bytes(mem.weight_bytes))}, peak activations "
            f"{e(human_bytes(mem.peak_activation_bytes))} at <code>{e(mem.peak_op or '-')}</code>)"
            "</p><table><tr><th>iPhone</th><th>app limit</th><th>use</th><th>verdict</th></tr>"
        )
        for d in mem.devices:
            parts.append(
                f"<tr><td>{e(d.marketing_name)} ({e(d.product_type)})</td>"
                f"<td>{e(human_bytes(d.limit_bytes))}</td><td>{d.share:.0%}</td>"
                f"<td class='{_VERDICT_CLASS[d.verdict]}'>{e(d.verdict.value)}</td></tr>"
            )
        parts.append("</table>")
    if report.findings:
        parts.append(
            "<table class='findings'><tr><th>severity</th><th>id</th><th>where</th>"
            "<th>finding</th></tr>"
        )
        for f in report.findings:
            source = f" <a href='{e(f.source)}'>source</a>" if f.source else ""
            hint = f"<br><small>{e(f.hint)}</small>" if f.hint else ""
            css = {Severity.ERROR: "error", Severity.WARNING: "budget_failed"}.get(f.severity, "")
            parts.append(
                f"<tr><td class='{css}'>{e(f.severity.value)}</td><td>{e(f.id)}</td>"
                f"<td><code>{e(f.op or '')}</code></td><td>{e(f.message)}{hint}{source}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</section>")
    return "".join(parts)


def _distinct_limits(report: PreflightReport) -> list[DeviceMemory]:
    """One row per distinct per-app limit (the newest device with it): 34 rows say no more."""
    assert report.memory is not None
    seen: dict[int, DeviceMemory] = {}
    for device in report.memory.devices:
        seen[device.limit_bytes] = device
    return [seen[k] for k in sorted(seen)]
