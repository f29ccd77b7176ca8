"""The report registry: every format renders the one results document through one interface."""

from __future__ import annotations

import io
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from orchestrator.preflight import Finding, PreflightReport, Severity
from orchestrator.reports import (
    FORMATS,
    STDOUT,
    ReportWriter,
    ResultsDocument,
    read_json,
    require_formats,
    write_reports,
)
from pomar_core.errors import UsageError
from pomar_core.wire import Precision, RunResult

HERE = Path(__file__).parent


def _preflight(*findings: Finding) -> PreflightReport:
    return PreflightReport(
        model="examples/cnn.py:build", precision=Precision.FP16, versions=(), findings=findings
    )


BLOCKED = _preflight(
    Finding(id="convert.failed", severity=Severity.ERROR, message="no converter for lgamma"),
    Finding(id="pitfall.softplus", severity=Severity.WARNING, message="softplus overflows"),
)


def test_every_registered_format_writes_the_document_atomically(
    runs: list[RunResult], tmp_path: Path
) -> None:
    document = ResultsDocument.of(runs)
    targets = {name: tmp_path / f"report.{name}" for name in FORMATS}
    written = write_reports(document, targets)
    assert sorted(written) == sorted(targets.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)
    # NaN metrics make == false: compare the JSON, as every reader sees it.
    assert read_json(targets["json"]).model_dump_json() == document.model_dump_json()
    assert ET.parse(targets["junit"]).getroot().get("tests") == str(len(runs))
    assert "parity_failed" in targets["html"].read_text()


def test_a_new_format_is_a_render_method_and_inherits_the_atomic_write(
    runs: list[RunResult], tmp_path: Path
) -> None:
    class Statuses(ReportWriter):
        def render(self, document: ResultsDocument) -> str:
            return "\n".join(r.status.value for r in document.results) + "\n"

    path = Statuses().write(ResultsDocument.of(runs), tmp_path / "statuses.txt")
    assert path.read_text().splitlines() == [r.status.value for r in runs]


def test_a_dash_prints_the_report_instead_of_writing_a_file(
    runs: list[RunResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    assert write_reports(ResultsDocument.of(runs), {"json": STDOUT}, stdout=out) == []
    printed = ResultsDocument.model_validate_json(out.getvalue())
    assert [r.model_dump_json() for r in printed.results] == [r.model_dump_json() for r in runs]
    assert list(tmp_path.iterdir()) == []


def test_html_without_matplotlib_is_bad_usage_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(UsageError) as caught:
        require_formats(("json", "html"))
    assert caught.value.exit_code == 2
    assert "pip install 'pomar[reports]'" in caught.value.one_line()
    require_formats(("json", "junit"))  # the other formats need nothing extra


def test_an_unknown_format_is_bad_usage() -> None:
    with pytest.raises(UsageError, match="unknown report format 'pdf'"):
        require_formats(("pdf",))


def test_a_preflight_document_keeps_the_preflight_json_and_fails_one_junit_case(
    tmp_path: Path,
) -> None:
    document = ResultsDocument.of(preflight=BLOCKED)
    assert document.preflight_only
    targets = {name: tmp_path / f"preflight.{name}" for name in FORMATS}
    write_reports(document, targets)
    assert PreflightReport.model_validate_json(targets["json"].read_text()) == BLOCKED
    xmlschema = pytest.importorskip("xmlschema")
    xmlschema.XMLSchema(HERE / "junit-10.xsd").validate(targets["junit"])
    suites = ET.parse(targets["junit"]).getroot()
    assert (suites.get("tests"), suites.get("failures")) == ("1", "1")
    failure = suites.find("testsuite/testcase/failure")
    assert failure is not None
    assert "lgamma" in (failure.get("message") or "")
    page = targets["html"].read_text()
    assert "Pomar preflight — examples/cnn.py:build" in page
    assert "pitfall.softplus" in page


def test_a_check_document_carries_preflight_into_html_but_keeps_json_a_results_document(
    runs: list[RunResult], tmp_path: Path
) -> None:
    fine = _preflight(Finding(id="pitfall.softplus", severity=Severity.WARNING, message="x"))
    document = ResultsDocument.of(runs, preflight=fine)
    assert not document.preflight_only
    targets = {"json": tmp_path / "r.json", "html": tmp_path / "r.html"}
    write_reports(document, targets)
    assert read_json(targets["json"]).preflight == fine
    assert "<section class='preflight'>" in targets["html"].read_text()
