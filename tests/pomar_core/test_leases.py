"""The Liveness contract, in memory and on a real Redis: the batched calls the agent and the
reconciler make on every run and every tick answer exactly as the single calls do."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pomar_core.leases import RUN_CANCELLED, RUN_DONE, Liveness, MemoryLiveness, RedisLiveness
from pomar_core.wire import DeviceInfo, DeviceKind, DeviceState, Heartbeat
from tests.conftest import need_service

REDIS_URL = "redis://127.0.0.1:6379/11"


@pytest.fixture(params=["memory", "redis"])
def liveness(request: pytest.FixtureRequest) -> Iterator[Liveness]:
    if request.param == "memory":
        yield MemoryLiveness()
        return
    redis_liveness = RedisLiveness(REDIS_URL)
    try:
        redis_liveness.run_flag("ping")
    except Exception:
        need_service("Redis", "127.0.0.1:6379")
    yield redis_liveness
    redis_liveness.close()


def _beat(udid: str, run_id: str | None) -> Heartbeat:
    info = DeviceInfo(udid=udid, kind=DeviceKind.EMULATED, product_type="E", marketing_name="e")
    state = DeviceState.IDLE if run_id is None else DeviceState.BUSY
    return Heartbeat(info=info, state=state, agent="a", at=datetime.now(UTC), run_id=run_id)


def test_run_flags_in_bulk_are_the_single_flags(liveness: Liveness) -> None:
    runs = [f"run-{uuid.uuid4().hex}" for _ in range(5)]
    liveness.set_run(runs[0], "2")
    liveness.set_run(runs[2], RUN_DONE)
    liveness.set_run(runs[4], RUN_CANCELLED)
    flags = liveness.run_flags(runs)
    assert flags == {runs[0]: "2", runs[2]: RUN_DONE, runs[4]: RUN_CANCELLED}
    assert flags == {r: f for r in runs if (f := liveness.run_flag(r)) is not None}
    assert liveness.run_flags([]) == {}


def test_flags_set_in_bulk_are_flags_set_one_by_one(liveness: Liveness) -> None:
    runs = [f"run-{uuid.uuid4().hex}" for _ in range(3)]
    liveness.set_run(runs[0], "1")
    liveness.set_runs({runs[0]: "2", runs[1]: RUN_DONE})
    liveness.set_runs({})
    assert liveness.run_flags(runs) == {runs[0]: "2", runs[1]: RUN_DONE}
    assert liveness.run_flag(runs[0]) == "2"


def test_run_flags_of_more_runs_than_one_round_trip_holds(liveness: Liveness) -> None:
    runs = [f"run-{uuid.uuid4().hex}" for _ in range(2500)]
    for run in runs[::100]:
        liveness.set_run(run, "1")
    assert liveness.run_flags(runs) == {run: "1" for run in runs[::100]}


def test_check_in_takes_the_lease_and_reads_the_flag(liveness: Liveness) -> None:
    udid, run = f"dev-{uuid.uuid4().hex[:8]}", f"run-{uuid.uuid4().hex}"
    assert liveness.check_in(udid, "agent-a", 30, run) == (True, None)
    liveness.set_run(run, "3")
    assert liveness.check_in(udid, "agent-a", 30, run) == (True, "3")
    assert liveness.check_in(udid, "agent-b", 30, run) == (False, "3")  # a's lease holds
    liveness.release(udid, "agent-a")
    assert liveness.check_in(udid, "agent-b", 30, run) == (True, "3")


def test_renew_beats_and_answers_the_busy_runs_flag(liveness: Liveness) -> None:
    udid, run = f"dev-{uuid.uuid4().hex[:8]}", f"run-{uuid.uuid4().hex}"
    assert liveness.renew(_beat(udid, None), "agent-a", 30) is None
    assert liveness.live()[udid].state is DeviceState.IDLE
    assert liveness.renew(_beat(udid, run), "agent-a", 30) is None
    liveness.set_run(run, RUN_CANCELLED)
    assert liveness.renew(_beat(udid, run), "agent-a", 30) == RUN_CANCELLED
    assert liveness.live()[udid].run_id == run
    assert not liveness.acquire(udid, "agent-b", 30)  # the beat renewed a's lease
    liveness.forget(udid)
    assert udid not in liveness.live()


def test_live_follows_every_beat_and_reparses_only_changed_ones(liveness: Liveness) -> None:
    quiet, busy = (f"dev-{uuid.uuid4().hex[:8]}" for _ in range(2))
    liveness.beat(_beat(quiet, None), 30)
    liveness.beat(_beat(busy, None), 30)
    first = liveness.live()
    run = f"run-{uuid.uuid4().hex}"
    liveness.beat(_beat(busy, run), 30)
    second = liveness.live()
    assert second[busy].run_id == run  # a new beat is seen at once, never a remembered one
    assert second[quiet] == first[quiet]
    if isinstance(liveness, RedisLiveness):
        assert second[quiet] is first[quiet]  # unchanged JSON: not parsed again
    liveness.forget(busy)
    assert busy not in liveness.live()
    liveness.forget(quiet)
