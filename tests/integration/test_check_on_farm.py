"""`pomar check` with POMAR_BROKER_URL set runs on the farm: same command, another transport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import HEARTBEAT_S, HEARTBEAT_TTL_S, FarmProcesses, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_check_runs_on_the_farms_pool_and_reports_like_embedded(
    farm_procs: FarmProcesses, tmp_path: Path
) -> None:
    farm_procs.coordinator()
    farm_procs.start(
        "agent",
        [
            "agent",
            "--emulated",
            "1",
            "--emulated-first",
            "30",
            "--label",
            "checkpool",
            "--heartbeat",
            str(HEARTBEAT_S),
            "--ttl",
            str(HEARTBEAT_TTL_S),
        ],
    )
    farm = farm_procs.client()
    wait_for("the agent's device to heartbeat", lambda: "emulated-30" in farm.liveness.live())
    report = tmp_path / "r.json"
    done = farm_procs.cli(
        "check",
        "examples/cnn.py:build",
        "--pool",
        "checkpool",
        "--iterations",
        "1",
        "--warmup",
        "0",
        "--quiet",
        "--json",
        str(report),
    )
    assert done.returncode == 0, done.stderr
    (result,) = json.loads(report.read_text())["results"]
    assert result["status"] == "passed"
    assert result["device"]["udid"] == "emulated-30"
