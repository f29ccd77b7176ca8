"""`pomar doctor`: one line per check with its fix, --json, exit 0 only when all pass."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from pomar.cli import main


@pytest.fixture(autouse=True)
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POMAR_DATA_DIR", str(tmp_path / "data"))
    for name in ("POMAR_BROKER_URL", "POMAR_STORE_URL", "POMAR_ARTIFACTS_URL", "POMAR_HARNESS_APP"):
        monkeypatch.delenv(name, raising=False)


def test_an_embedded_host_passes_and_mac_checks_are_skipped_not_faked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "pass  store: SQLite" in out
    assert "pass  artifacts:" in out
    assert "skip  xcode: skipped: not macOS" in out
    assert out.strip().endswith("all checks passed")


def test_a_broken_broker_exits_3_with_the_fix_in_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("POMAR_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    assert main(["doctor", "--json"]) == 3
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is False
    broker = next(c for c in document["checks"] if c["name"] == "broker")
    assert broker["status"] == "fail"
    assert "POMAR_BROKER_URL" in broker["fix"]
    agents = next(c for c in document["checks"] if c["name"] == "agents")
    assert agents["status"] == "skip"
