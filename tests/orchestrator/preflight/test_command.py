"""`pomar preflight`: exit codes, --json, the terminal summary and the HTML section."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from orchestrator.preflight import PreflightOutcome, PreflightReport, html_section, render_terminal
from pomar.commands.preflight import preflight
from pomar_core.settings import Settings
from tests.orchestrator.preflight.conftest import FACTORIES


def _invoke(args: list[str]) -> tuple[int, str]:
    """Run the command as `pomar` would (a PomarError becomes its exit code)."""
    from pomar_core.errors import PomarError

    group = click.Group(commands={"preflight": preflight})
    runner = CliRunner()
    settings = Settings()
    try:
        result = runner.invoke(
            group, ["preflight", *args], obj=settings, standalone_mode=False, catch_exceptions=False
        )
    except PomarError as exc:
        return exc.exit_code, exc.one_line()
    return int(result.return_value or 0), result.output


def test_json_report_round_trips_and_exit_is_zero_when_nothing_blocks(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    code, _ = _invoke(
        [f"{FACTORIES}:build_dilated", "--device-type", "iPhone17,1", "--json", str(out), "--quiet"]
    )
    assert code == 0
    report = PreflightReport.model_validate_json(out.read_text())
    assert report.inventory is not None
    assert {f["id"] for f in json.loads(out.read_text())["findings"]} >= {"pitfall.dilated-conv"}


def test_exit_is_one_when_the_model_will_be_killed(huge_package: Path) -> None:
    code, output = _invoke(
        [str(huge_package), "--device-type", "iPhone11,8", "--max-trace-memory", "1"]
    )
    assert code == 1
    assert "will be killed" in output


def test_exit_is_one_and_the_op_is_named_when_the_model_does_not_convert() -> None:
    code, output = _invoke([f"{FACTORIES}:build_unconvertible", "--json", "-"])
    assert code == 1
    report = PreflightReport.model_validate_json(output)
    assert report.blocking[0].id == "convert.failed"


@pytest.mark.parametrize(
    "args",
    [
        ["does/not/exist.mlpackage"],
        [f"{FACTORIES}:build_dilated", "--device-type", "iPhone99,9"],
        [f"{FACTORIES}:build_dilated", "--deployment-target", "iOS"],
    ],
    ids=["missing-model", "unknown-device", "bad-target"],
)
def test_exit_is_two_for_bad_input(args: list[str]) -> None:
    code, message = _invoke(args)
    assert code == 2
    assert "\n" not in message.strip()


def test_terminal_summary_names_findings_and_the_verdict(masked: PreflightOutcome) -> None:
    console = Console(record=True, width=200)
    render_terminal(masked.report, console)
    text = console.export_text()
    assert "pitfall.fp32-min-mask" in text
    assert "nothing blocks a device run" in text
    assert "coremltools 9.0" in text


def test_html_section_is_an_escaped_fragment_with_every_finding(
    unconvertible: PreflightOutcome, masked: PreflightOutcome
) -> None:
    fragment = html_section(masked.report)
    assert fragment.startswith("<section class='preflight'>")
    assert fragment.endswith("</section>")
    assert "<html" not in fragment
    for finding in masked.report.findings:
        assert finding.id in fragment
    blocked = html_section(unconvertible.report)
    assert "class='error'" in blocked
    assert "build_unconvertible" in blocked
