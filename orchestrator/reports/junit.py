"""``--junit``: JUnit XML, one test case per run, so CI dashboards show runs natively.

The layout follows the JUnit schema CI tools read (Jenkins, GitLab, GitHub test reporters):
``testsuites > testsuite > testcase`` with ``failure`` for parity/budget failures, ``error`` for
runs that did not finish normally (crash, jetsam kill, timeout, lost device) and ``skipped`` for
cancelled or unfinished runs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from orchestrator.preflight import PreflightReport
from orchestrator.reports.document import ResultsDocument
from orchestrator.reports.history import comparison_suite
from orchestrator.reports.summary import (
    environment_text,
    failure_reasons,
    metrics_line,
    worst_output,
)
from orchestrator.reports.writer import ReportWriter
from pomar_core.wire import RunResult, RunStatus

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry at all, even escaped (a device log may hold them)."""

_FAILURES = (RunStatus.PARITY_FAILED, RunStatus.BUDGET_FAILED)
_SKIPPED = (RunStatus.CANCELLED, RunStatus.QUEUED, RunStatus.RUNNING)


class JunitWriter(ReportWriter):
    """JUnit XML; see the module docstring for the layout."""

    def __init__(self, suite_name: str = "pomar") -> None:
        self.suite_name = suite_name

    def render(self, document: ResultsDocument) -> str:
        return junit_xml(document, suite_name=self.suite_name)


def junit_xml(document: ResultsDocument, *, suite_name: str = "pomar") -> str:
    """The JUnit XML document as text; a comparison with a baseline adds a second suite, and a
    preflight-only document is one suite with one case that fails when something blocks."""
    results, budgets, comparison = document.results, document.budgets, document.comparison
    suites = ET.Element("testsuites", name=suite_name)
    suite = ET.SubElement(suites, "testsuite", name=suite_name)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for r in results:
        seconds = _seconds(r)
        total_time += seconds
        case = ET.SubElement(
            suite,
            "testcase",
            name=f"{r.device.marketing_name} [{r.device.udid}] {r.compute_unit.value}",
            classname=f"pomar.{r.job_id}.{r.device.product_type}",
            time=f"{seconds:.3f}",
        )
        counts["tests"] += 1
        reasons = [_clean(x) for x in failure_reasons(r, budgets)]
        if r.status in _FAILURES:
            counts["failures"] += 1
            node = ET.SubElement(case, "failure", message=reasons[0], type=r.status.value)
            node.text = "\n".join(reasons)
        elif r.status in _SKIPPED:
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message=f"run {r.status.value}")
        elif r.status is not RunStatus.PASSED:
            counts["errors"] += 1
            node = ET.SubElement(case, "error", message=reasons[0], type=r.status.value)
            node.text = "\n".join(reasons)
        out = ET.SubElement(case, "system-out")
        out.text = _clean(_details(r))
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{total_time:.3f}")
    if comparison is not None:
        history = comparison_suite(comparison)
        suites.append(history)
        counts["tests"] += int(history.get("tests", "0"))
        counts["failures"] += int(history.get("failures", "0"))
    if document.preflight_only and document.preflight is not None:
        findings = _preflight_suite(document.preflight, suite_name)
        suites.remove(suite)
        suites.append(findings)
        counts["tests"], counts["failures"] = 1, 1 if document.preflight.blocking else 0
    if document.notices:
        first = next(iter(suites))
        properties = ET.Element("properties")
        for notice in document.notices:
            ET.SubElement(properties, "property", name="pomar.notice", value=_clean(notice))
        first.insert(0, properties)
    for key, value in counts.items():
        if key != "skipped":
            suites.set(key, str(value))
    suites.set("time", f"{total_time:.3f}")
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _preflight_suite(report: PreflightReport, suite_name: str) -> ET.Element:
    blocking = report.blocking
    suite = ET.Element(
        "testsuite",
        name=f"{suite_name}.preflight",
        tests="1",
        failures=str(1 if blocking else 0),
        errors="0",
        skipped="0",
        time="0.000",
    )
    case = ET.SubElement(
        suite, "testcase", name=f"preflight {report.model}", classname="pomar.preflight"
    )
    if blocking:
        node = ET.SubElement(
            case, "failure", message=_clean(report.refusal_reason or ""), type=blocking[0].id
        )
        node.text = _clean("\n".join(f"{f.id}: {f.message}" for f in blocking))
    out = ET.SubElement(case, "system-out")
    out.text = _clean("\n".join(f"{f.severity.value} {f.id}: {f.message}" for f in report.findings))
    return suite


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _seconds(r: RunResult) -> float:
    if r.started_at and r.finished_at:
        return max(0.0, (r.finished_at - r.started_at).total_seconds())
    lat = r.timings.latency
    return sum(lat.samples_ms) / 1000 if lat else 0.0


def _details(r: RunResult) -> str:
    lines = [f"run {r.run_id} status {r.status.value}"]
    if r.parity is not None:
        lines += [metrics_line(o) for o in r.parity.outputs]
        if worst_output(r) is not None and r.parity.tolerance:
            lines.append(f"tolerance {r.parity.tolerance}, reference {r.parity.reference_kind}")
        lines += [f"{o.name}: note: {n}" for o in r.parity.outputs for n in o.notes]
    if r.timings.latency:
        lat = r.timings.latency
        lines.append(f"latency p50 {lat.p50_ms:.3g} ms, p90 {lat.p90_ms:.3g} ms")
    env = environment_text(r)
    if env is not None:
        lines.append(f"device: {env}")
    return "\n".join(lines)
