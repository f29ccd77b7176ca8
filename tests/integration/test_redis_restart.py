"""Redis restarted (losing every queue) while runs are queued and running: nothing is lost."""

from __future__ import annotations

import pytest

from pomar_core.wire import ComputeUnit, DeviceSelector, RunStatus
from tests.integration.conftest import FarmProcesses, wait_for
from tests.integration.models import tiny_job

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_runs_queued_and_running_survive_a_redis_restart_that_loses_every_message(
    farm_procs: FarmProcesses,
) -> None:
    farm_procs.coordinator()
    farm_procs.hold("emulated-40")
    farm_procs.agent("agent", first=40, count=1, pool="restartpool")
    farm = farm_procs.client()
    wait_for("the device to heartbeat", lambda: "emulated-40" in farm.liveness.live())
    units = (ComputeUnit.CPU, ComputeUnit.GPU, ComputeUnit.ANE)
    job = tiny_job(farm.artifacts, DeviceSelector(pools=("restartpool",)), units)
    specs = farm.coordinator.submit(job)

    def statuses() -> list[RunStatus]:
        return sorted(r.status for r in farm.store.list_runs(job.job_id))

    wait_for(
        "one run running, two queued in Redis",
        lambda: statuses() == [RunStatus.QUEUED, RunStatus.QUEUED, RunStatus.RUNNING],
    )
    farm_procs.redis.kill()
    farm_procs.redis.start()  # same port, empty: the two queued messages are gone
    farm_procs.release("emulated-40")

    wait_for("every run to finish", lambda: all(s.finished for s in statuses()), timeout_s=90)
    records = farm.store.list_runs(job.job_id)
    assert [r.status for r in records] == [RunStatus.PASSED] * 3
    assert sorted(r.spec.compute_unit for r in records) == sorted(units)
    assert {r.run_id for r in records} == {s.run_id for s in specs}
    assert all(r.result is not None and r.result.attempt == 1 for r in records)
