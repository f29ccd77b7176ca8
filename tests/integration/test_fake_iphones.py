"""Fake iPhones through the whole farm: real Redis, coordinator and agent processes, the real
attached-iPhones source. Model failures are results; a lost or locked phone's run is retried
on another phone of the pool; a locked phone is quarantined (and shown so) until its check
passes."""

from __future__ import annotations

import json

import pytest

from orchestrator.store import RunRecord
from pomar_core.wire import DeviceSelector, RunStatus
from tests.integration.conftest import HEARTBEAT_S, HEARTBEAT_TTL_S, FarmProcesses, wait_for
from tests.integration.models import tiny_job

pytestmark = [pytest.mark.redis, pytest.mark.slow]

POOL = "phones"
A, B = "00008110-FARM00000000000A", "00008110-FARM00000000000B"


def start_agent(farm_procs: FarmProcesses, phones: dict[str, dict[str, object]]) -> None:
    args = [
        "agent",
        "--devices-from",
        "tests.integration.phones:attached",
        "--label",
        POOL,
        "--name",
        "phones",
        "--heartbeat",
        str(HEARTBEAT_S),
        "--ttl",
        str(HEARTBEAT_TTL_S),
        "--discover",
        "0.3",
    ]
    farm_procs.start("agent", args, POMAR_TEST_PHONES=json.dumps(phones))


def device_states(farm_procs: FarmProcesses) -> dict[str, str]:
    shown = farm_procs.cli("devices", "--json")
    assert shown.returncode == 0, shown.stderr
    return {d["udid"]: d["state"] for d in json.loads(shown.stdout)["devices"]}


def test_an_oom_kill_and_a_crash_are_results_and_never_retried(
    farm_procs: FarmProcesses,
) -> None:
    farm_procs.coordinator()
    start_agent(farm_procs, {A: {"jetsam_limit_bytes": 1}, B: {"crash": True}})
    farm = farm_procs.client()
    wait_for("both phones to heartbeat", lambda: {A, B} <= set(farm.liveness.live()))
    jobs = [tiny_job(farm.artifacts, DeviceSelector(device_ids=(udid,))) for udid in (A, B)]
    for job in jobs:
        farm.coordinator.submit(job)

    def finished() -> bool:
        return all(r.status.finished for job in jobs for r in farm.store.list_runs(job.job_id))

    wait_for("both runs to finish", finished)
    (oom,) = farm.store.list_runs(jobs[0].job_id)
    (crash,) = farm.store.list_runs(jobs[1].job_id)
    assert (oom.status, oom.attempt, oom.device_udid) == (RunStatus.OOM_KILLED, 1, A)
    assert (crash.status, crash.attempt, crash.device_udid) == (RunStatus.CRASHED, 1, B)
    assert oom.result is not None
    assert oom.result.error is not None
    assert "jetsam" in oom.result.error.lower()
    assert crash.result is not None
    assert crash.result.error is not None
    assert "SIGSEGV" in crash.result.error or "EXC_BAD_ACCESS" in crash.result.error
    assert "requeued" not in farm_procs.log("coordinator")
    started = sorted(p.name for p in farm_procs.control.glob("started-*"))
    assert started == sorted([f"started-{A}-{oom.run_id}", f"started-{B}-{crash.run_id}"])


def held_pool_run(farm_procs: FarmProcesses) -> tuple[RunRecord, str, str]:
    """Two healthy phones, both holding their launches; one pool run lands on one of them.
    Returns the running record, the phone it landed on, and the other phone."""
    for udid in (A, B):
        farm_procs.hold(udid)
    farm_procs.coordinator()
    start_agent(farm_procs, {A: {}, B: {}})
    farm = farm_procs.client()
    wait_for("both phones to heartbeat", lambda: {A, B} <= set(farm.liveness.live()))
    (spec,) = farm.coordinator.submit(tiny_job(farm.artifacts, DeviceSelector(pools=(POOL,))))

    def launched() -> bool:
        return any(farm_procs.control.glob(f"started-*-{spec.run_id}"))

    def running() -> RunRecord | None:
        found = farm.store.get_run(spec.run_id)
        return found if found is not None and found.status is RunStatus.RUNNING else None

    wait_for("the run to reach a phone's app", launched)
    wait_for("the coordinator to record it running", running)
    record = running()
    assert record is not None
    landed = record.device_udid
    assert landed in (A, B)
    return record, landed, B if landed == A else A


def finished_record(farm_procs: FarmProcesses, run_id: str) -> RunRecord:
    farm = farm_procs.client()

    def get() -> RunRecord:
        found = farm.store.get_run(run_id)
        assert found is not None
        return found

    wait_for("the run to finish", lambda: get().status.finished)
    return get()


def test_a_phone_unplugged_mid_run_has_its_run_retried_on_another_phone_of_the_pool(
    farm_procs: FarmProcesses,
) -> None:
    record, landed, other = held_pool_run(farm_procs)
    farm_procs.release(other)
    (farm_procs.control / f"drop-{landed}").touch()
    farm_procs.release(landed)
    done = finished_record(farm_procs, record.run_id)
    assert (done.status, done.attempt, done.device_udid) == (RunStatus.PASSED, 2, other)
    assert done.detail is not None
    assert f"attempt 1 device_lost on {landed}" in done.detail
    assert "disconnected" in done.detail
    wait_for("the agent to stop serving it", lambda: device_states(farm_procs)[landed] == "lost")
    assert device_states(farm_procs)[other] == "idle"


def test_a_locked_phone_has_its_run_retried_elsewhere_and_is_quarantined_until_unlocked(
    farm_procs: FarmProcesses,
) -> None:
    record, landed, other = held_pool_run(farm_procs)
    farm_procs.release(other)
    lock = farm_procs.control / f"lock-{landed}"
    lock.touch()
    farm_procs.release(landed)
    done = finished_record(farm_procs, record.run_id)
    assert (done.status, done.attempt, done.device_udid) == (RunStatus.PASSED, 2, other)
    assert done.detail is not None
    assert "locked" in done.detail

    def quarantined() -> bool:
        return f"iPhone {landed} not served: quarantined after 1" in farm_procs.log("agent")

    wait_for("the agent to quarantine the locked phone", quarantined)
    wait_for(
        "it to show as quarantined",
        lambda: device_states(farm_procs)[landed] == "quarantined",
    )
    shown = json.loads(farm_procs.cli("devices", "--json").stdout)["devices"]
    (row,) = [d for d in shown if d["udid"] == landed]
    assert row["detail"] is not None
    assert "quarantined after 1" in row["detail"]
    assert "locked" in row["detail"]
    pools = farm_procs.cli("pools", "--json")
    assert pools.returncode == 0, pools.stderr
    assert json.loads(pools.stdout)["pools"][POOL] == {
        "devices": 2,
        "live": 1,
        "busy": 0,
        "quarantined": 1,
    }
    # Still heartbeating, yet nothing is routed to it: a run for it waits.
    farm = farm_procs.client()
    (waiting,) = farm.coordinator.submit(
        tiny_job(farm.artifacts, DeviceSelector(device_ids=(landed,)))
    )
    waiting_record = farm.store.get_run(waiting.run_id)
    assert waiting_record is not None
    assert waiting_record.detail is not None
    assert waiting_record.detail.startswith(f"waiting for a live device in device '{landed}'")
    assert "the iPhone is locked" in farm_procs.log("agent").split("quarantined after 1")[-1]
    lock.unlink()
    wait_for(
        "its check to pass and bring it back", lambda: device_states(farm_procs)[landed] == "idle"
    )
    assert f"iPhone {landed} (iPhone 14 Pro, iOS 17.5.1) is ready" in farm_procs.log("agent")
    done_later = finished_record(farm_procs, waiting.run_id)
    assert (done_later.status, done_later.device_udid) == (RunStatus.PASSED, landed)
