"""A device that stops heartbeating: marked lost, its run requeued, no work until it is back."""

from __future__ import annotations

import json

import pytest

from orchestrator.store import RunRecord
from pomar_core.wire import ComputeUnit, DeviceSelector, RunStatus
from tests.integration.conftest import FarmProcesses, wait_for
from tests.integration.models import tiny_job

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_a_silent_device_is_marked_lost_its_run_requeued_and_it_gets_no_work_until_back(
    farm_procs: FarmProcesses,
) -> None:
    farm_procs.coordinator()
    for udid in ("emulated-30", "emulated-31"):
        farm_procs.hold(udid)
    farm_procs.agent("agent", first=30, count=2, pool="lostpool")
    farm = farm_procs.client()
    wait_for("both devices to heartbeat", lambda: len(farm.liveness.live()) == 2)
    job = tiny_job(farm.artifacts, DeviceSelector(pools=("lostpool",)))
    (spec,) = farm.coordinator.submit(job)

    def record() -> RunRecord:
        found = farm.store.get_run(spec.run_id)
        assert found is not None
        return found

    wait_for("the run to start", lambda: record().status is RunStatus.RUNNING)
    silent = record().device_udid
    assert silent is not None
    other = ({"emulated-30", "emulated-31"} - {silent}).pop()
    farm_procs.unplug(silent)  # the agent stops serving and heartbeating it; its run hangs
    farm_procs.release(other)
    wait_for("the run to finish elsewhere", lambda: record().status.finished)
    assert (record().status, record().attempt, record().device_udid) == (
        RunStatus.PASSED,
        2,
        other,
    )

    def states() -> dict[str, str]:
        shown = farm_procs.cli("devices", "--json")
        assert shown.returncode == 0, shown.stderr
        return {d["udid"]: d["state"] for d in json.loads(shown.stdout)["devices"]}

    assert states() == {silent: "lost", other: "idle"}

    later = tiny_job(
        farm.artifacts, DeviceSelector(pools=("lostpool",)), (ComputeUnit.CPU, ComputeUnit.ALL)
    )
    farm.coordinator.submit(later)

    def later_done() -> bool:
        return all(r.status.finished for r in farm.store.list_runs(later.job_id))

    wait_for("the next job to finish", later_done)
    assert {r.device_udid for r in farm.store.list_runs(later.job_id)} == {other}

    farm_procs.release(silent)  # its stale attempt returns: ignored
    farm_procs.plug(silent)
    wait_for("the device to come back", lambda: states()[silent] == "idle")
    assert record().attempt == 2
    assert record().device_udid == other
    wait_for(
        "the stale attempt to be ignored",
        lambda: (
            f"result for run {spec.run_id} ignored: already passed" in farm_procs.log("coordinator")
        ),
    )
