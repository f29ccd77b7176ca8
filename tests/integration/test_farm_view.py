"""``pomar farm --json`` against a real farm: pools, queue depth by priority, running runs,
the last sweep's summary."""

from __future__ import annotations

import json

import pytest

from orchestrator.sweep_review import SweepSummary
from orchestrator.sweep_watch import RedisSweepState
from pomar_core.wire import DeviceSelector, RunStatus
from tests.integration.conftest import FarmProcesses, wait_for
from tests.integration.models import tiny_job

pytestmark = [pytest.mark.redis, pytest.mark.slow]

UDID = "emulated-80"


def test_farm_json_shows_pools_queues_running_runs_and_the_last_sweep(
    farm_procs: FarmProcesses,
) -> None:
    farm_procs.coordinator()
    farm_procs.hold(UDID)
    farm_procs.agent("agent", first=80, count=1, pool="viewpool")
    farm = farm_procs.client()
    wait_for("the device to heartbeat", lambda: UDID in farm.liveness.live())
    (busy,) = farm.coordinator.submit(tiny_job(farm.artifacts, DeviceSelector(device_ids=(UDID,))))

    def running() -> bool:
        record = farm.store.get_run(busy.run_id)
        return record is not None and record.status is RunStatus.RUNNING

    wait_for("the device to be busy", running)
    waiting = tiny_job(farm.artifacts, DeviceSelector(pools=("viewpool",)))
    farm.coordinator.submit(waiting.model_copy(update={"priority": 7}))
    summary = SweepSummary(sweep_id="nightly@1", schedule="nightly", runs=3, finished=3)
    state = RedisSweepState(farm_procs.redis.url)
    state.put("last", summary.model_dump_json())
    state.close()

    done = farm_procs.cli("farm", "--json")
    assert done.returncode == 0, done.stderr
    view = json.loads(done.stdout)
    assert view["pools"]["viewpool"] == {"busy": [UDID]}
    assert {"queue": "pomar.pool.viewpool", "priority": 7, "depth": 1} in view["queues"]
    (run,) = view["running"]
    assert run["run_id"] == busy.run_id
    assert run["device"] == UDID
    assert view["last_sweep"]["sweep_id"] == "nightly@1"
    farm_procs.release(UDID)
    text = farm_procs.cli("farm")
    assert text.returncode == 0, text.stderr
    assert "last sweep nightly@1" in text.stdout
