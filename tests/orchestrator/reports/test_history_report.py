"""The baseline comparison rendered: a one-line-per-run table at 80 columns, HTML, JUnit."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from rich.console import Console

from orchestrator.history import compare_jobs
from orchestrator.reports.history import comparison_html, comparison_renderable, comparison_suite
from pomar_core.wire import ComputeUnit
from tests.orchestrator.test_history import OTHER, result, samples


def _comparison():  # type: ignore[no-untyped-def]
    baseline = [
        result("b1", job_id="base", latency=samples(1, 20, spread=0.03)),
        result("b2", job_id="base", unit=ComputeUnit.CPU, error=0.3),
        result("b3", job_id="base", device=OTHER),
    ]
    current = [
        result("c1", latency=samples(2, 20, scale=2.2, spread=0.03), error=0.3),
        result("c2", unit=ComputeUnit.CPU, error=1e-3),
    ]
    return compare_jobs(current, baseline, job_id="now", baseline_job_id="base")


def test_the_comparison_table_keeps_one_line_per_run_at_80_columns() -> None:
    console = Console(record=True, width=80, color_system=None)
    console.print(comparison_renderable(_comparison()))
    text = console.export_text()
    assert all(len(line.rstrip()) <= 80 for line in text.splitlines())
    rows = [line for line in text.splitlines() if line.startswith(" iPhone 14 Pro │")]
    assert len(rows) == 2
    assert "regressed" in rows[0]
    assert "×2" in rows[0]
    assert "improved" in rows[1]
    assert "regressed: latency ×2 slower" in text
    assert "regressed: y: passed → failed" in text
    assert "improved: y: failed → passed" in text
    assert "In the baseline only: iPhone 15 (00008120-000C) ane: b3" in text


def test_the_comparison_html_and_junit_name_the_regressions() -> None:
    comparison = _comparison()
    page = comparison_html(comparison)
    assert "Against baseline base" in page
    assert "latency ×2 slower" in page
    suite = comparison_suite(comparison)
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    failure = suite.find("testcase/failure")
    assert failure is not None
    assert (failure.get("message") or "").startswith("latency ×2 slower")
    ET.fromstring(ET.tostring(suite))
