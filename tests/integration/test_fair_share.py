"""Fair sharing on real Redis: on-demand before the sweep, submitters round robin."""

from __future__ import annotations

from datetime import datetime

import pytest

from orchestrator.sweeps import SWEEP_PRIORITY
from pomar_core.wire import DeviceSelector, JobSpec, RunSpec, RunStatus
from tests.integration.conftest import FarmProcesses, wait_for
from tests.integration.models import tiny_job

pytestmark = [pytest.mark.redis, pytest.mark.slow]

UDID = "emulated-70"
POOL = "fairpool"


def test_two_submitters_share_a_busy_pool_round_robin_and_both_go_before_the_sweep(
    farm_procs: FarmProcesses,
) -> None:
    farm_procs.coordinator()
    farm_procs.hold(UDID)
    farm_procs.agent("agent", first=70, count=1, pool=POOL)
    farm = farm_procs.client()
    wait_for("the device to heartbeat", lambda: UDID in farm.liveness.live())
    (busy,) = farm.coordinator.submit(tiny_job(farm.artifacts, DeviceSelector(device_ids=(UDID,))))
    wait_for("the device to be busy", lambda: status(farm_procs, busy) is RunStatus.RUNNING)

    def job(who: str, priority: int = 5) -> JobSpec:
        spec = tiny_job(farm.artifacts, DeviceSelector(pools=(POOL,)))
        return spec.model_copy(update={"submitted_by": who, "priority": priority})

    sweep = [farm.coordinator.submit(job("sweep:nightly@1", SWEEP_PRIORITY))[0] for _ in range(2)]
    alice = [farm.coordinator.submit(job("alice"))[0] for _ in range(3)]
    bob = [farm.coordinator.submit(job("bob"))[0] for _ in range(3)]
    farm_procs.release(UDID)
    everything = [busy, *sweep, *alice, *bob]
    wait_for(
        "every run to finish",
        lambda: all(status(farm_procs, s).finished for s in everything),
        timeout_s=180,
    )
    order = sorted([*sweep, *alice, *bob], key=lambda s: started_at(farm_procs, s))
    names = {s.run_id: n for n, runs in (("a", alice), ("b", bob), ("s", sweep)) for s in runs}
    assert "".join(names[s.run_id] for s in order) == "ababab" + "ss"


def status(farm_procs: FarmProcesses, spec: RunSpec) -> RunStatus:
    found = farm_procs.client().store.get_run(spec.run_id)
    assert found is not None
    return found.status


def started_at(farm_procs: FarmProcesses, spec: RunSpec) -> datetime:
    record = farm_procs.client().store.get_run(spec.run_id)
    assert record is not None
    assert record.result is not None
    assert record.result.started_at is not None
    return record.result.started_at
