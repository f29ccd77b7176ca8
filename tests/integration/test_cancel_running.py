"""``pomar cancel`` interrupts a run that is already executing, where the device can stop."""

from __future__ import annotations

import pytest

from pomar_core.wire import DeviceSelector, DeviceState, RunStatus
from tests.integration.conftest import FarmProcesses, wait_for
from tests.integration.models import tiny_job

pytestmark = [pytest.mark.redis, pytest.mark.slow]

UDID = "emulated-70"


def test_cancelling_a_job_stops_its_executing_run_and_frees_the_device(
    farm_procs: FarmProcesses,
) -> None:
    farm_procs.coordinator()
    farm_procs.agent("agent", first=70, count=1, pool="cancelpool")
    farm = farm_procs.client()
    wait_for("the device to heartbeat", lambda: UDID in farm.liveness.live())
    target = DeviceSelector(device_ids=(UDID,))
    endless = tiny_job(farm.artifacts, target)
    # An hour of timed iterations: only a cancellation ends it within the test.
    endless = endless.model_copy(
        update={"config": endless.config.model_copy(update={"min_duration_s": 3600.0})}
    )
    (spec,) = farm.coordinator.submit(endless)

    def status(run_id: str) -> RunStatus:
        found = farm.store.get_run(run_id)
        assert found is not None
        return found.status

    wait_for("the run to execute", lambda: status(spec.run_id) is RunStatus.RUNNING)
    wait_for("the device to say so", lambda: farm.liveness.live()[UDID].run_id == spec.run_id)
    cancelled = farm_procs.cli("cancel", endless.job_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"cancelled 1 run(s) of {endless.job_id}" in cancelled.stdout
    assert status(spec.run_id) is RunStatus.CANCELLED

    wait_for(
        "the agent to ask the device to stop",
        lambda: f"run {spec.run_id} cancelled: asking {UDID} to stop" in farm_procs.log("agent"),
    )
    wait_for("the device to be idle", lambda: farm.liveness.live()[UDID].state is DeviceState.IDLE)
    wait_for(
        "its result to be ignored",
        lambda: (
            f"result for run {spec.run_id} ignored: already cancelled"
            in farm_procs.log("coordinator")
        ),
    )
    assert status(spec.run_id) is RunStatus.CANCELLED

    (after,) = farm.coordinator.submit(tiny_job(farm.artifacts, target))
    wait_for("the next run to finish", lambda: status(after.run_id).finished)
    assert status(after.run_id) is RunStatus.PASSED
