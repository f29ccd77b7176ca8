"""The agent's executor counts model-cache hits and misses, its artifact store the bytes it
moves, and everything a backend logs during a run carries the job, run and device ids."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from agent.device import Outcome, RunOutcome, RunRequest
from agent.devices.emulated.device import emulated_device_info
from agent.executor import DeviceRunExecutor
from pomar_core import metrics
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifact_stores.metered import MeteredArtifactStore
from pomar_core.artifacts import save_arrays
from pomar_core.logs import ContextFilter, JsonLineFormatter
from pomar_core.wire import DeviceInfo, ModelFormat, RunStatus
from tests.factories import job_spec, run_spec

log = logging.getLogger("agent.test_backend")


class LoggingDevice:
    info: DeviceInfo = emulated_device_info(7)

    def check_ready(self) -> None:
        return None

    def run(self, request: RunRequest) -> RunOutcome:
        log.warning("running on the test device")
        return RunOutcome(Outcome.COMPLETED, outputs={"y": np.zeros(4, dtype=np.float32)})


@pytest.fixture
def enabled() -> Iterator[metrics.Metrics]:
    metrics.disable()
    yield metrics.enable()
    metrics.disable()


def _value(m: metrics.Metrics, line_start: str) -> float:
    line = next(x for x in m.render().splitlines() if x.startswith(line_start))
    return float(line.rsplit(" ", 1)[1])


def test_cache_hits_bytes_and_log_ids_of_two_runs(
    enabled: metrics.Metrics, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = MeteredArtifactStore(LocalArtifactStore(tmp_path / "artifacts"))
    model_sha = store.put_bytes(b"an .mlmodel the test device never opens")
    inputs_sha = save_arrays(store, {"x": np.ones(3, dtype=np.float32)})
    job = job_spec("job-m", inputs_sha256=inputs_sha)
    model = job.model.model_copy(update={"sha256": model_sha, "format": ModelFormat.MLMODEL})
    job = job.model_copy(update={"model": model})
    executor = DeviceRunExecutor(LoggingDevice(), store, tmp_path / "models")
    caplog.handler.setFormatter(JsonLineFormatter())
    caplog.handler.addFilter(ContextFilter())
    with caplog.at_level(logging.WARNING, logger="agent.test_backend"):
        first = executor.execute(run_spec(job, 0, device_id="emulated-7"))
        second = executor.execute(run_spec(job, 1, device_id="emulated-7"))
    assert first.status is second.status is RunStatus.PASSED
    assert _value(enabled, 'pomar_artifact_cache_total{result="miss"}') == 1.0
    assert _value(enabled, 'pomar_artifact_cache_total{result="hit"}') == 1.0
    assert _value(enabled, 'pomar_artifact_bytes_total{direction="read"}') > 0
    assert _value(enabled, 'pomar_artifact_bytes_total{direction="written"}') > 0
    entries = [json.loads(caplog.handler.format(r)) for r in caplog.records]
    assert [(e["job_id"], e["run_id"], e["device_id"]) for e in entries] == [
        ("job-m", "job-m-r0", "emulated-7"),
        ("job-m", "job-m-r1", "emulated-7"),
    ]
