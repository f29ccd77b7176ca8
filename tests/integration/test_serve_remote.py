"""The front door end to end: `pomar serve` in front of a real farm (PostgreSQL, our own Redis,
`pomar coordinator`, an emulated agent), and the CLI in another environment holding only
POMAR_SERVER_URL and POMAR_TOKEN: `check --pool`, `submit`, `status`, `results`, `report`,
`cancel`, `devices`, `pools` print what they print with the farm's credentials."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import POMAR, REPO, FarmProcesses, RedisServer, free_port, wait_for
from tests.orchestrator.server.conftest import pg_database
from tests.orchestrator.server.models import tiny_package

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

POOL = "remotepool"


@pytest.fixture
def served_farm(tmp_path: Path, redis_server: RedisServer) -> Iterator[tuple[FarmProcesses, str]]:
    with pg_database() as store_url:
        yield from _serve(FarmProcesses(tmp_path, redis_server, store_url))


def _serve(procs: FarmProcesses) -> Iterator[tuple[FarmProcesses, str]]:
    port = free_port()
    try:
        procs.coordinator()
        wait_for("the store migrated", lambda: "recording results" in procs.log("coordinator"))
        procs.start(
            "agent",
            [
                "agent",
                "--emulated",
                "1",
                "--emulated-first",
                "40",
                "--label",
                POOL,
                "--heartbeat",
                "0.5",
            ],
        )
        procs.start("server", ["serve", "--port", str(port)])
        url = f"http://127.0.0.1:{port}"
        wait_for("pomar serve to answer", lambda: _healthy(url), timeout_s=120)
        farm = procs.client()
        wait_for("the agent's device", lambda: "emulated-40" in farm.liveness.live())
        yield procs, url
    finally:
        procs.stop_all()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


class Remote:
    """The CLI with no broker, store or artifacts settings: only the server and a token."""

    def __init__(self, url: str, token: str, data: Path) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("POMAR_")}
        self.env = {
            **base,
            "POMAR_SERVER_URL": url,
            "POMAR_TOKEN": token,
            "POMAR_DATA_DIR": str(data),
            "PYTHONPATH": str(REPO),
        }

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*POMAR, *args],
            cwd=REPO,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )


def _without_heartbeat_times(text: str) -> list[dict[str, object]]:
    devices: list[dict[str, object]] = json.loads(text)["devices"]
    return [{k: v for k, v in d.items() if k != "last_heartbeat"} for d in devices]


def _document(path: Path) -> dict[str, object]:
    document = json.loads(path.read_text())
    document.pop("generated_at")
    return document


def test_the_cli_with_only_a_server_url_and_token_works_like_the_farm_cli(
    served_farm: tuple[FarmProcesses, str], tmp_path: Path
) -> None:
    procs, url = served_farm
    made = procs.cli("token", "create", "--name", "ci", "--scope", "read,submit", "--json")
    assert made.returncode == 0, made.stderr
    token = json.loads(made.stdout)["token"]
    assert token not in procs.log("server")
    remote = Remote(url, token, tmp_path / "client-data")
    package = str(tiny_package(tmp_path / "model"))
    run = ("--pool", POOL, "--compute-units", "cpu", "--iterations", "1", "--warmup", "0")

    checked = remote.cli("check", package, *run, "--quiet", "--json", str(tmp_path / "c.json"))
    assert checked.returncode == 0, checked.stderr
    (result,) = json.loads((tmp_path / "c.json").read_text())["results"]
    assert (result["status"], result["device"]["udid"]) == ("passed", "emulated-40")
    assert json.loads((tmp_path / "c.json").read_text())["preflight"] is not None

    submitted = remote.cli("submit", package, *run, "--json", "--wait")
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout.splitlines()[0])["job_id"]

    for args in (("status", job_id, "--json"), ("status", "--json"), ("pools", "--json")):
        here, there = remote.cli(*args), procs.cli(*args)
        assert (here.returncode, here.stdout) == (there.returncode, there.stdout), args
    here, there = remote.cli("devices", "--json"), procs.cli("devices", "--json")
    assert here.returncode == there.returncode == 0
    assert _without_heartbeat_times(here.stdout) == _without_heartbeat_times(there.stdout)
    assert remote.cli("pools").stdout == procs.cli("pools").stdout

    for command in (("results", job_id), ("report", job_id, "--baseline", job_id)):
        here = remote.cli(*command, "--json", str(tmp_path / "here.json"))
        there = procs.cli(*command, "--json", str(tmp_path / "there.json"))
        assert here.returncode == there.returncode == 0, here.stderr
        assert _document(tmp_path / "here.json") == _document(tmp_path / "there.json")
    page = remote.cli("results", job_id, "--html", str(tmp_path / "r.html"))
    assert page.returncode == 0, page.stderr
    assert "Pomar report" in (tmp_path / "r.html").read_text()

    assert remote.cli("cancel", job_id).stdout == f"cancelled 0 run(s) of {job_id}\n"
    for command in (("cancel", "job-nope"), ("results", "job-nope"), ("status", "job-nope")):
        assert remote.cli(*command).returncode == 2, command  # as the farm CLI: unknown id

    factory = remote.cli("check", "examples/cnn.py:build", *run)
    assert factory.returncode == 2
    assert "Python factory" in factory.stderr
    no_token = remote.cli("status", POMAR_TOKEN="")
    assert no_token.returncode == 2
    assert "POMAR_TOKEN" in no_token.stderr
    bad = remote.cli("status", POMAR_TOKEN="pomar_000000000000_nope")
    assert bad.returncode == 2
    assert "unknown or revoked" in bad.stderr
    assert token not in procs.log("server")
