"""An agent SIGKILLed mid-run: the run completes on another device of the pool, recorded once."""

from __future__ import annotations

import pytest

from pomar_core.wire import DeviceSelector, DeviceState, RunStatus
from tests.integration.conftest import FarmProcesses, wait_for
from tests.integration.models import tiny_job

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_a_run_is_redelivered_to_another_device_and_recorded_once_when_its_agent_is_killed(
    farm_procs: FarmProcesses,
) -> None:
    farm_procs.coordinator()
    farm_procs.hold("emulated-10")
    farm_procs.agent("agent-a", first=10, count=1, pool="killpool")
    farm = farm_procs.client()
    wait_for("agent-a's device to heartbeat", lambda: "emulated-10" in farm.liveness.live())

    job = tiny_job(farm.artifacts, DeviceSelector(pools=("killpool",)))
    (spec,) = farm.coordinator.submit(job)

    def running_on_a() -> bool:
        record = farm.store.get_run(spec.run_id)
        return record is not None and record.status is RunStatus.RUNNING

    wait_for("the run to start on agent-a", running_on_a)
    farm_procs.agent("agent-b", first=20, count=1, pool="killpool")
    wait_for("agent-b's device to heartbeat", lambda: "emulated-20" in farm.liveness.live())
    farm_procs.kill("agent-a")

    def finished() -> bool:
        record = farm.store.get_run(spec.run_id)
        return record is not None and record.status.finished

    wait_for("the run to finish on agent-b", finished)
    (record,) = farm.store.list_runs(job.job_id)
    assert record.status is RunStatus.PASSED
    assert record.result is not None
    assert (record.result.device.udid, record.result.attempt) == ("emulated-20", 2)
    assert record.detail is not None
    assert "emulated-10 stopped heartbeating" in record.detail
    states = {d.info.udid: d.state for d in farm.store.list_devices()}
    assert states["emulated-10"] is DeviceState.LOST
    assert farm_procs.log("coordinator").count("requeued as attempt 2") == 1
    started = sorted(p.name for p in farm_procs.control.glob("started-*"))
    assert started == [f"started-emulated-10-{spec.run_id}", f"started-emulated-20-{spec.run_id}"]
