"""Farm commands turn bad input into one line and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pomar.cli import main


@pytest.fixture(autouse=True)
def _no_farm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POMAR_DATA_DIR", str(tmp_path))
    for name in ("POMAR_BROKER_URL", "POMAR_STORE_URL", "POMAR_ARTIFACTS_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["submit", "model.mlpackage", "--pool", "p"], "POMAR_BROKER_URL is not set"),
        (["devices"], "POMAR_BROKER_URL is not set"),
        (["cancel", "job-x"], "POMAR_BROKER_URL is not set"),
        (["agent", "--emulated", "1"], "POMAR_BROKER_URL is not set"),
        (["status", "job-x"], "no job 'job-x' in the store"),
        (["results", "job-x", "--json", "-"], "no job 'job-x' in the store"),
    ],
)
def test_a_farm_command_with_bad_input_says_why_in_one_line_and_exits_2(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pomar: error: ")
    assert says in err
    assert "\n" not in err


def test_an_agent_with_no_device_source_is_told_how_to_add_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POMAR_BROKER_URL", "redis://127.0.0.1:1/0")
    assert main(["agent"]) == 2
    assert "--emulated N" in capsys.readouterr().err


def test_status_without_a_job_lists_no_jobs_on_an_empty_store(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["status", "--json"]) == 0
    assert capsys.readouterr().out.strip() == '{"jobs": []}'
