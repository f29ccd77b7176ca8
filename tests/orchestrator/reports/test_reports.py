from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from orchestrator.reports import (
    JsonWriter,
    JunitWriter,
    ResultsDocument,
    html_report,
    junit_xml,
    print_results,
    read_json,
    write_atomically,
)
from pomar_core.wire import RunEnvironment, RunResult
from tests.orchestrator.reports.conftest import overflowed_outputs, reference_outputs

HERE = Path(__file__).parent


def test_terminal_table_shows_every_run_and_explains_the_reference(runs: list[RunResult]) -> None:
    console = Console(record=True, width=200, color_system=None)
    print_results(runs, console=console)
    text = console.export_text()
    assert "parity_failed" in text
    assert "oom_killed" in text
    assert "iPhone 14 Pro" in text
    assert "Reference: the source model (PyTorch) in fp32" in text
    assert "features NaN/Inf 3" in text
    assert "triage fp16_overflow: first overflowing op 'pow_3'" in text


def _table_and_details(text: str) -> tuple[list[str], list[str]]:
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if set(line.strip()) <= set("━╇"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Reference:"))
    return lines[rule + 1 : end], lines[end + 1 :]


@pytest.mark.parametrize("width", [80, 120])
def test_terminal_table_keeps_one_line_per_run_within_the_width(
    runs: list[RunResult], width: int
) -> None:
    console = Console(record=True, width=width, color_system=None)
    print_results(runs, console=console)
    text = console.export_text()
    rows, details = _table_and_details(text)
    assert len(rows) == len(runs)  # no cell wraps onto a second line
    assert all(len(line.rstrip()) <= width for line in text.splitlines())
    phone_ane = next(r for r in rows if "ane" in r)
    for cell in ("iPhone 14 Pro", "parity_failed", "4.2/4.76", "900 MiB", "features"):
        assert cell in phone_ane
    # Sentences live below the table, for failed runs only, indented under their heading.
    body = "\n".join(details)
    assert "✗ iPhone 14 Pro (00008110-000A) · ane: parity_failed" in body
    assert "    features: share_outside_tolerance" in body
    assert "killed by jetsam at 3.1 GiB" in body
    assert "· cpu: passed" not in body


def test_budget_violations_come_from_the_result_not_a_recomputation(runs: list[RunResult]) -> None:
    over = runs[3].model_copy(
        update={"error": None, "budget_violations": ("peak memory 900 MiB exceeds 512 MiB",)}
    )
    console = Console(record=True, width=120, color_system=None)
    print_results([over], console=console)
    assert "peak memory 900 MiB exceeds 512 MiB" in console.export_text()
    assert "peak memory 900 MiB exceeds 512 MiB" in junit_xml(ResultsDocument.of([over]))


def test_device_state_is_shown_for_failed_and_hot_runs(runs: list[RunResult]) -> None:
    hot = RunEnvironment(
        thermal_before="fair", thermal_after="serious", battery_before=0.81, battery_after=0.79
    )
    passed_but_hot = runs[0].model_copy(update={"environment": hot})
    failed = runs[1].model_copy(update={"environment": RunEnvironment(low_power_mode=True)})
    cool = runs[0].model_copy(
        update={"run_id": "cool", "environment": RunEnvironment(thermal_before="nominal")}
    )
    console = Console(record=True, width=120, color_system=None)
    print_results([passed_but_hot, failed, cool], console=console)
    text = console.export_text()
    assert "! iPhone 14 Pro (00008110-000A) · cpu: passed" in text
    assert "device: thermal fair → serious, battery 81% → 79%" in text
    assert "device: Low Power Mode" in text
    assert "nominal" not in text  # a cool passed run needs no explanation
    assert "thermal fair → serious" in html_report(ResultsDocument.of([passed_but_hot]))


def test_output_notes_and_extra_outputs_reach_the_reports(runs: list[RunResult]) -> None:
    assert runs[1].parity is not None
    parity = runs[1].parity.model_copy(update={"extra_outputs": ("debug_tap",)})
    features = parity.outputs[1].model_copy(update={"notes": ("size-1 axes differ",)})
    parity = parity.model_copy(update={"outputs": (parity.outputs[0], features)})
    run = runs[1].model_copy(update={"parity": parity})
    console = Console(record=True, width=120, color_system=None)
    print_results([run], console=console)
    text = console.export_text()
    assert "features: note: size-1 axes differ" in text
    assert "not judged): debug_tap" in text
    page = html_report(ResultsDocument.of([run]))
    assert "note: size-1 axes differ" in page
    assert "triage fp16_overflow" in page
    assert "features: note: size-1 axes differ" in junit_xml(ResultsDocument.of([run]))


def test_json_round_trips_every_run_with_infinite_metrics(
    runs: list[RunResult], tmp_path: Path
) -> None:
    path = JsonWriter().write(ResultsDocument.of(runs), tmp_path / "out" / "results.json")
    raw = json.loads(path.read_text())
    for written, original in zip(raw["results"], runs, strict=True):
        again = RunResult.model_validate_json(json.dumps(written))
        assert again.model_dump_json() == original.model_dump_json()
    assert read_json(path).results[1].parity.outputs[1].metrics.max_abs_error == float("inf")  # type: ignore[union-attr]
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temp file left


def test_junit_validates_against_the_ci_schema_and_has_one_case_per_run(
    runs: list[RunResult], tmp_path: Path
) -> None:
    xmlschema = pytest.importorskip("xmlschema")
    path = JunitWriter().write(ResultsDocument.of(runs), tmp_path / "junit.xml")
    xmlschema.XMLSchema(HERE / "junit-10.xsd").validate(path)
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert len(cases) == len(runs)
    assert suite.get("tests") == "5"
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("2", "1", "1")
    failure = cases[1].find("failure")
    assert failure is not None
    assert "non-finite" in (failure.get("message") or "")
    assert "fp16_overflow" in (failure.text or "")
    error = cases[2].find("error")
    assert error is not None
    assert error.get("message") == "killed by jetsam at 3.1 GiB"


def test_junit_escapes_awkward_text(runs: list[RunResult]) -> None:
    odd = runs[2].model_copy(update={"error": 'bad <op> & "quote"\x1b'})
    ET.fromstring(junit_xml(ResultsDocument.of([odd])).encode())


def _loader(run: RunResult) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    ref = reference_outputs()
    if run.run_id == "r1":
        return ref, overflowed_outputs()
    return ref, {k: v.astype(np.float16) for k, v in ref.items()}


def test_html_is_one_self_contained_page_with_plots_and_worst_elements(
    runs: list[RunResult],
) -> None:
    page = html_report(ResultsDocument.of(runs), load_arrays=_loader)
    assert page.count("<svg") >= 3 + 2 * 3  # matrix, latency, memory, two histograms per run
    assert "src=" not in page
    assert "href=" not in page.replace('xlink:href="#', "")
    assert "error histogram" in page
    assert "<th>abs error</th>" in page
    assert "Reference: the source model" in page


@pytest.mark.browser
def test_html_renders_in_headless_chromium(runs: list[RunResult], tmp_path: Path) -> None:
    import shutil
    import subprocess

    from tests.conftest import need_service

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        need_service("chromium", "apt-get install -y chromium")
    page = write_atomically(
        tmp_path / "report.html", html_report(ResultsDocument.of(runs), load_arrays=_loader)
    )
    args = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run(
        [*args, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert "parity_failed" in dom
    assert "peak memory vs device limit" in dom
    assert dom.count("<svg") >= 5
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*args, f"--screenshot={shot}", "--window-size=1200,2000", page.as_uri()],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page
