"""After a sweep: confirm a flagged series by re-running it, then one summary per webhook,
checked against a local HTTP server; a failing webhook does not fail the sweep."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from orchestrator.farmfile import parse_farm_file
from orchestrator.stores.memory import MemoryJobStore
from orchestrator.sweep_watch import MemorySweepState, SweepWatcher, last_summary
from orchestrator.sweeps import apply_farm_file
from pomar_core.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    DeviceSelector,
    JobSpec,
    LatencyStats,
    RunConfig,
    RunResult,
    RunStatus,
    Timings,
)
from tests.factories import job_spec, run_spec

START = datetime(2026, 1, 1, 2, tzinfo=UTC)


class Hooks:
    """A local webhook receiver: records every body; ``/flaky`` answers 500 once first."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict[str, Any]]] = {}
        self.failed_once = False
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/flaky" and not hooks.failed_once:
                    hooks.failed_once = True
                    self.send_response(500)
                else:
                    hooks.bodies.setdefault(self.path, []).append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    yield server
    server.close()


def farm_text(hooks: Hooks) -> str:
    return f"""
[notify]
report_url = "https://ci.example.com/pomar/{{job_id}}"
[[notify.webhook]]
url = "{hooks.url}/json"
[[notify.webhook]]
url = "{hooks.url}/flaky"
format = "slack"
[[notify.webhook]]
url = "http://127.0.0.1:9/closed"

[schedule.nightly]
cron = "0 2 * * *"
pools = ["lab"]
compute_units = ["ane"]
confirm = true

[[schedule.nightly.model]]
path = "m.mlpackage"
"""


def phone(os_version: str = "17.5") -> DeviceInfo:
    return DeviceInfo(
        udid="phone-1",
        kind=DeviceKind.IOS,
        product_type="iPhone15,2",
        marketing_name="iPhone 14 Pro",
        os_version=os_version,
    )


def finish(store: MemoryJobStore, job: JobSpec, rng: random.Random, scale: float) -> None:
    (record,) = store.list_runs(job.job_id)
    level = 10 * scale * rng.lognormvariate(0, 0.03)
    samples = [level * rng.lognormvariate(0, 0.05) for _ in range(30)]
    store.record_result(
        RunResult(
            run_id=record.run_id,
            job_id=job.job_id,
            device=phone(),
            compute_unit=ComputeUnit.ANE,
            status=RunStatus.PASSED,
            finished_at=job.submitted_at + timedelta(minutes=5),
            timings=Timings(latency=LatencyStats.from_samples(samples)),
        )
    )


def add(store: MemoryJobStore, job: JobSpec) -> JobSpec:
    store.add_job(job, [(run_spec(job, 0, device_id=None, unit=ComputeUnit.ANE), "pomar.pool.lab")])
    return job


def night(store: MemoryJobStore, n: int) -> JobSpec:
    job = job_spec(
        f"job-{n}",
        target=DeviceSelector(pools=("lab",)),
        config=RunConfig(compute_units=(ComputeUnit.ANE,)),
        label="schedule nightly",
        at=START + timedelta(days=n),
    )
    return add(store, job.model_copy(update={"submitted_by": f"sweep:nightly@{n:03d}"}))


def test_a_flagged_night_is_rerun_confirmed_and_sent_once_to_every_webhook(
    hooks: Hooks, tmp_path: Path
) -> None:
    store = MemoryJobStore()
    (tmp_path / "m.mlpackage").mkdir()
    apply_farm_file(store, parse_farm_file(farm_text(hooks), "farm.toml", tmp_path))
    state = MemorySweepState()
    reruns: list[JobSpec] = []

    def submit(job: JobSpec) -> None:
        reruns.append(add(store, job))

    watcher = SweepWatcher(store, submit, state, backoff_s=0.01)
    rng = random.Random(0)
    for n in range(10):
        finish(store, night(store, n), rng, 1.0)
        state.claim(f"nightly@{n:03d}:reported")  # earlier nights: already reported
    slow = night(store, 10)
    assert watcher.tick() == []  # still running
    finish(store, slow, rng, 1.8)
    assert watcher.tick() == []  # flagged: re-run first
    (rerun,) = reruns
    assert rerun.target.device_ids == ("phone-1",)
    assert rerun.label == f"confirm {store.list_runs(slow.job_id)[0].run_id}"
    assert watcher.tick() == []  # waits for the re-run
    finish(store, rerun, rng, 1.8)
    (summary,) = watcher.tick()
    assert watcher.tick() == []  # reported once
    (item,) = summary.regressions
    assert item.kind == "slower"
    assert item.confirmed is True
    assert item.bucket == 1.5
    assert item.link == "https://ci.example.com/pomar/job-10"
    (body,) = hooks.bodies["/json"]
    assert body["kind"] == "pomar.sweep"
    assert body["sweep_id"] == "nightly@010"
    assert body["regressions"][0]["series"] == "m on iPhone15,2 iOS 17.5 (ane)"
    (slack,) = hooks.bodies["/flaky"]  # delivered on the retry
    assert slack["text"].startswith("Pomar sweep nightly@010: 1 regression(s)")
    assert "<https://ci.example.com/pomar/job-10|report>" in json.dumps(slack["blocks"])
    last = last_summary(state, "nightly")
    assert last is not None
    assert last.sweep_id == "nightly@010"


def test_a_quiet_night_is_reported_without_a_rerun(hooks: Hooks, tmp_path: Path) -> None:
    store = MemoryJobStore()
    (tmp_path / "m.mlpackage").mkdir()
    apply_farm_file(store, parse_farm_file(farm_text(hooks), "farm.toml", tmp_path))
    state = MemorySweepState()
    watcher = SweepWatcher(store, lambda job: pytest.fail("no re-run"), state, backoff_s=0.01)
    rng = random.Random(1)
    for n in range(8):
        finish(store, night(store, n), rng, 1.0)
    summaries = watcher.tick()
    assert len(summaries) == 8
    assert all(s.quiet for s in summaries)
    assert len(hooks.bodies["/json"]) == 8
