"""Job priority reaches the broker: on a busy device, the more urgent queued job runs first."""

from __future__ import annotations

from datetime import datetime

import pytest

from pomar_core.wire import DeviceSelector, RunStatus
from tests.integration.conftest import FarmProcesses, wait_for
from tests.integration.models import tiny_job

pytestmark = [pytest.mark.redis, pytest.mark.slow]

UDID = "emulated-60"


def test_an_urgent_job_submitted_after_a_relaxed_one_runs_first_on_a_busy_device(
    farm_procs: FarmProcesses,
) -> None:
    farm_procs.coordinator()
    farm_procs.hold(UDID)
    farm_procs.agent("agent", first=60, count=1, pool="priopool")
    farm = farm_procs.client()
    wait_for("the device to heartbeat", lambda: UDID in farm.liveness.live())
    target = DeviceSelector(device_ids=(UDID,))
    blocker = tiny_job(farm.artifacts, target)
    (busy,) = farm.coordinator.submit(blocker)

    def status(run_id: str) -> RunStatus:
        found = farm.store.get_run(run_id)
        assert found is not None
        return found.status

    wait_for("the device to be busy", lambda: status(busy.run_id) is RunStatus.RUNNING)
    relaxed = tiny_job(farm.artifacts, target).model_copy(update={"priority": 1})
    urgent = tiny_job(farm.artifacts, target).model_copy(update={"priority": 8})
    (low,) = farm.coordinator.submit(relaxed)
    (high,) = farm.coordinator.submit(urgent)
    farm_procs.release(UDID)
    wait_for(
        "every run to finish", lambda: all(status(s.run_id).finished for s in (busy, low, high))
    )
    assert started_at(farm_procs, high.run_id) < started_at(farm_procs, low.run_id)


def started_at(farm_procs: FarmProcesses, run_id: str) -> datetime:
    record = farm_procs.client().store.get_run(run_id)
    assert record is not None
    assert record.result is not None
    assert record.result.started_at is not None
    return record.result.started_at
