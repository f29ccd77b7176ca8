"""The coordinator's routing, waiting, retrying and idempotent recording, in process."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime

import pytest
from celery import Celery

from orchestrator import coordinator as coordinator_module
from orchestrator.coordinator import Coordinator
from orchestrator.reconciler import Reconciler
from orchestrator.routing import plan_runs
from orchestrator.store import DeviceRecord, RunRecord
from orchestrator.stores.memory import MemoryJobStore
from pomar_core.artifact_stores.memory import MemoryArtifactStore
from pomar_core.celery_app import broker_priority, make_app
from pomar_core.errors import SelectorError
from pomar_core.leases import RUN_CANCELLED, RUN_DONE, MemoryLiveness
from pomar_core.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    DeviceSelector,
    DeviceState,
    Heartbeat,
    JobSpec,
    RunConfig,
    RunResult,
    RunSpec,
    RunStatus,
)
from tests.factories import job_spec

SHA = "c" * 64


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _iphone(udid: str, product: str = "iPhone15,2", os: str = "17.4") -> DeviceInfo:
    return DeviceInfo(
        udid=udid,
        kind=DeviceKind.IOS,
        product_type=product,
        marketing_name="iPhone",
        os_version=os,
        compute_units=tuple(ComputeUnit),
    )


def _job(target: DeviceSelector, units: tuple[ComputeUnit, ...] = (ComputeUnit.ALL,)) -> JobSpec:
    return job_spec(
        f"job-{len(target.pools)}-{id(target)}",
        target=target,
        config=RunConfig(compute_units=units),
    )


def _result(spec: RunSpec, device: DeviceInfo, status: RunStatus, attempt: int = 1) -> RunResult:
    return RunResult(
        run_id=spec.run_id,
        job_id=spec.job_id,
        device=device,
        compute_unit=spec.compute_unit,
        status=status,
        attempt=attempt,
        error=None if status is RunStatus.PASSED else f"{status.value} here",
    )


@pytest.fixture(scope="module")
def app() -> Celery:
    return make_app(None, name="pomar-test-coordinator")


Sent = list[tuple[str, int, str]]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Sent:
    calls: Sent = []

    def capture(
        app: Celery, spec: RunSpec, queue: str, priority: int = 5, producer: object = None
    ) -> None:
        calls.append((spec.run_id, spec.attempt, queue))

    monkeypatch.setattr(coordinator_module, "send_run", capture)
    return calls


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def liveness(clock: Clock) -> MemoryLiveness:
    return MemoryLiveness(clock)


@pytest.fixture
def coord(app: Celery, liveness: MemoryLiveness, sent: Sent) -> Coordinator:
    return Coordinator(MemoryJobStore(), MemoryArtifactStore(), app, liveness, wait_s=60)


Beat = Callable[..., None]


@pytest.fixture
def beat(liveness: MemoryLiveness) -> Beat:
    def do(
        info: DeviceInfo,
        state: DeviceState = DeviceState.IDLE,
        run_id: str | None = None,
        last_run_id: str | None = None,
    ) -> None:
        hb = Heartbeat(
            info=info,
            state=state,
            agent="a",
            at=datetime.now(UTC),
            run_id=run_id,
            last_run_id=last_run_id,
        )
        liveness.beat(hb, ttl_s=3)

    return do


def test_pool_runs_go_to_the_pool_queue_once_per_compute_unit() -> None:
    job = _job(DeviceSelector(pools=("iPhone15,2",)), (ComputeUnit.CPU, ComputeUnit.ANE))
    planned = plan_runs(job, [])
    assert [(s.compute_unit, s.device_id, q) for s, q in planned] == [
        (ComputeUnit.CPU, None, "pomar.pool.iPhone15,2"),
        (ComputeUnit.ANE, None, "pomar.pool.iPhone15,2"),
    ]


def test_an_os_version_range_picks_matching_devices_by_their_device_queue() -> None:
    known = [_iphone("a", os="16.7"), _iphone("b", os="17.4"), _iphone("c", os="18.1")]
    job = _job(DeviceSelector(min_os_version="17.0", max_os_version="17.9"))
    assert [q for _, q in plan_runs(job, known)] == ["pomar.device.b"]


def test_every_pool_once_runs_once_on_each_product_type_the_farm_has() -> None:
    known = [_iphone("a"), _iphone("b"), _iphone("c", product="iPhone16,1")]
    job = _job(DeviceSelector(every_pool_once=True))
    assert sorted(q for _, q in plan_runs(job, known)) == [
        "pomar.pool.iPhone15,2",
        "pomar.pool.iPhone16,1",
    ]


def test_a_job_without_any_target_is_a_selector_error_that_lists_the_options() -> None:
    with pytest.raises(SelectorError) as caught:
        plan_runs(_job(DeviceSelector()), [_iphone("a")])
    assert "--pool" in caught.value.one_line()


def test_a_run_for_a_pool_without_live_devices_waits_visibly_then_fails_at_its_deadline(
    coord: Coordinator, sent: Sent
) -> None:
    (spec,) = coord.submit(_job(DeviceSelector(pools=("iPhone15,2",))))
    record = coord.store.get_run(spec.run_id)
    assert record is not None
    assert record.status is RunStatus.QUEUED
    assert record.detail is not None
    assert record.detail.startswith("waiting for a live device in pool 'iPhone15,2'")
    assert sent == []
    expired = record.model_copy(update={"deadline_at": datetime(2000, 1, 1, tzinfo=UTC)})
    coord.dispatch(expired)
    final = coord.store.get_run(spec.run_id)
    assert final is not None
    assert final.result is not None
    assert final.status is RunStatus.TIMEOUT
    assert final.result.error == "no live device in pool 'iPhone15,2' within 60s of waiting"


def test_a_waiting_run_is_sent_when_a_device_of_its_pool_appears(
    coord: Coordinator, sent: Sent, beat: Beat, liveness: MemoryLiveness
) -> None:
    (spec,) = coord.submit(_job(DeviceSelector(pools=("iPhone15,2",))))
    beat(_iphone("a"))
    Reconciler(coord, liveness).tick()
    assert sent == [(spec.run_id, 1, "pomar.pool.iPhone15,2")]
    record = coord.store.get_run(spec.run_id)
    assert record is not None
    assert record.detail is None
    Reconciler(coord, liveness).tick()
    assert len(sent) == 1  # flagged as in the broker: not sent twice


def test_a_quarantined_device_heartbeats_but_is_given_no_run_until_it_is_idle_again(
    coord: Coordinator, sent: Sent, beat: Beat, liveness: MemoryLiveness
) -> None:
    beat(_iphone("a"), DeviceState.QUARANTINED)
    (spec,) = coord.submit(_job(DeviceSelector(pools=("iPhone15,2",))))
    record = coord.store.get_run(spec.run_id)
    assert record is not None
    assert record.detail is not None
    assert record.detail.startswith("waiting for a live device in pool 'iPhone15,2'")
    assert sent == []
    beat(_iphone("a"))
    Reconciler(coord, liveness).tick()
    assert sent == [(spec.run_id, 1, "pomar.pool.iPhone15,2")]


def test_a_job_s_priority_goes_with_every_dispatch_of_its_runs(
    app: Celery, liveness: MemoryLiveness, beat: Beat, monkeypatch: pytest.MonkeyPatch
) -> None:
    priorities: list[int] = []

    def capture(
        app: Celery, spec: RunSpec, queue: str, priority: int = 5, producer: object = None
    ) -> None:
        priorities.append(priority)

    monkeypatch.setattr(coordinator_module, "send_run", capture)
    coord = Coordinator(MemoryJobStore(), MemoryArtifactStore(), app, liveness, wait_s=60)
    beat(_iphone("a"))
    job = _job(DeviceSelector(pools=("iPhone15,2",))).model_copy(update={"priority": 8})
    (spec,) = coord.submit(job)
    record = coord.store.get_run(spec.run_id)
    assert record is not None
    fresh = Coordinator(coord.store, coord.artifacts, app, liveness, wait_s=60)
    fresh.retry(record, "attempt 1 device_lost")  # a restarted coordinator reads the store
    assert priorities == [8, 8]


def test_pomar_priority_9_is_the_first_served_in_kombu_s_redis_order() -> None:
    assert [broker_priority(p) for p in (9, 5, 0)] == [0, 4, 9]


def test_a_device_lost_result_is_retried_on_another_device_of_the_pool(
    coord: Coordinator, sent: Sent, beat: Beat
) -> None:
    a, b = _iphone("a"), _iphone("b")
    beat(a, DeviceState.BUSY)
    beat(b)
    (spec,) = coord.submit(_job(DeviceSelector(pools=("iPhone15,2",))))
    coord.run_started(spec.run_id, "a", 1)
    coord.record(_result(spec, a, RunStatus.DEVICE_LOST))
    assert sent[-1] == (spec.run_id, 2, "pomar.device.b")
    coord.run_started(spec.run_id, "b", 2)
    coord.record(_result(spec, b, RunStatus.PASSED, attempt=2))
    record = coord.store.get_run(spec.run_id)
    assert record is not None
    assert (record.status, record.attempt, record.device_udid) == (RunStatus.PASSED, 2, "b")
    assert record.detail is not None
    assert "attempt 1 device_lost on a" in record.detail


def test_infrastructure_failures_stop_being_retried_after_max_attempts(
    coord: Coordinator, beat: Beat
) -> None:
    a = _iphone("a")
    beat(a)
    (spec,) = coord.submit(_job(DeviceSelector(device_ids=("a",))))
    for attempt in (1, 2, 3):
        coord.record(_result(spec, a, RunStatus.TIMEOUT, attempt=attempt))
    record = coord.store.get_run(spec.run_id)
    assert record is not None
    assert (record.status, record.attempt) == (RunStatus.TIMEOUT, 3)


@pytest.mark.parametrize("status", [RunStatus.OOM_KILLED, RunStatus.CRASHED, RunStatus.ERROR])
def test_model_failures_are_results_and_never_retried(
    coord: Coordinator, sent: Sent, beat: Beat, liveness: MemoryLiveness, status: RunStatus
) -> None:
    a = _iphone("a")
    beat(a)
    (spec,) = coord.submit(_job(DeviceSelector(device_ids=("a",))))
    coord.record(_result(spec, a, status))
    record = coord.store.get_run(spec.run_id)
    assert record is not None
    assert (record.status, record.attempt) == (status, 1)
    assert len(sent) == 1
    assert liveness.run_flag(spec.run_id) == RUN_DONE


def test_duplicate_stale_unknown_and_cancelled_results_change_nothing_and_are_logged(
    coord: Coordinator, beat: Beat, liveness: MemoryLiveness, caplog: pytest.LogCaptureFixture
) -> None:
    a = _iphone("a")
    beat(a)
    first, second = coord.submit(
        _job(DeviceSelector(device_ids=("a",)), (ComputeUnit.CPU, ComputeUnit.ANE))
    )
    caplog.set_level(logging.INFO, logger="orchestrator.coordinator")
    coord.record(_result(first, a, RunStatus.PASSED))
    coord.record(_result(first, a, RunStatus.CRASHED))  # duplicate delivery
    coord.record(_result(first, a, RunStatus.PASSED, attempt=7))  # stale or foreign attempt
    stranger = first.model_copy(update={"run_id": "nobody-knows"})
    coord.record(_result(stranger, a, RunStatus.PASSED))
    assert coord.cancel(second.job_id) == 1
    assert liveness.run_flag(second.run_id) == RUN_CANCELLED
    coord.record(_result(second, a, RunStatus.PASSED))
    runs = {r.run_id: r for r in coord.store.list_runs(first.job_id)}
    assert runs[first.run_id].status is RunStatus.PASSED
    assert runs[second.run_id].status is RunStatus.CANCELLED
    text = caplog.text
    assert "already passed" in text
    assert "result for unknown run nobody-knows ignored" in text
    assert "already cancelled" in text


def test_a_device_that_stops_heartbeating_is_marked_lost_and_its_run_requeued(
    coord: Coordinator, sent: Sent, beat: Beat, liveness: MemoryLiveness, clock: Clock
) -> None:
    a, b = _iphone("a"), _iphone("b")
    beat(a)
    (spec,) = coord.submit(_job(DeviceSelector(pools=("iPhone15,2",))))
    coord.run_started(spec.run_id, "a", 1)
    beat(a, DeviceState.BUSY, spec.run_id)
    reconciler = Reconciler(coord, liveness, lost_after_s=0)
    reconciler.tick()
    clock.now += 10  # a's heartbeat expires; b shows up
    beat(b)
    reconciler.tick()
    states = {d.info.udid: d.state for d in coord.store.list_devices()}
    assert states == {"a": DeviceState.LOST, "b": DeviceState.IDLE}
    assert sent[-1] == (spec.run_id, 2, "pomar.device.b")
    record = coord.store.get_run(spec.run_id)
    assert record is not None
    assert (record.status, record.attempt) == (RunStatus.QUEUED, 2)


def test_a_run_s_device_never_heard_gets_the_same_grace_from_when_the_run_started(
    coord: Coordinator, sent: Sent, beat: Beat, liveness: MemoryLiveness, clock: Clock
) -> None:
    a = _iphone("a")
    beat(a)
    (spec,) = coord.submit(_job(DeviceSelector(pools=("iPhone15,2",))))
    coord.run_started(spec.run_id, "a", 1)
    clock.now += 10  # Redis restarted: a's heartbeat is gone before any reconciler heard it
    Reconciler(coord, liveness, lost_after_s=60).tick()  # a new coordinator's first tick
    record = coord.store.get_run(spec.run_id)
    assert record is not None
    assert (record.status, record.attempt) == (RunStatus.RUNNING, 1)  # a's beat may yet come

    Reconciler(coord, liveness, lost_after_s=0).tick()  # its grace is over
    record = coord.store.get_run(spec.run_id)
    assert record is not None
    assert (record.status, record.attempt) == (RunStatus.QUEUED, 2)


def test_runs_the_broker_lost_are_sent_again_from_the_store(
    coord: Coordinator, sent: Sent, beat: Beat, liveness: MemoryLiveness
) -> None:
    beat(_iphone("a"))
    specs = coord.submit(_job(DeviceSelector(pools=("iPhone15,2",)), tuple(ComputeUnit)))
    assert len(sent) == 4
    liveness.clear_runs()  # what a Redis restart does to the flags (and the queues)
    Reconciler(coord, liveness).tick()
    assert sorted(sent[4:]) == sorted((s.run_id, 1, "pomar.pool.iPhone15,2") for s in specs)


def test_a_run_its_device_no_longer_runs_is_retried_unless_its_result_is_on_the_way(
    coord: Coordinator, sent: Sent, beat: Beat, liveness: MemoryLiveness
) -> None:
    a = _iphone("a")
    beat(a)
    finished, forgotten = coord.submit(
        _job(DeviceSelector(device_ids=("a",)), (ComputeUnit.CPU, ComputeUnit.ANE))
    )
    for spec in (finished, forgotten):
        coord.run_started(spec.run_id, "a", 1)
    beat(a, DeviceState.IDLE, None, last_run_id=finished.run_id)
    reconciler = Reconciler(coord, liveness, stale_after_s=0.1)
    time.sleep(0.2)  # older than stale_after_s, younger than the patience for a finished run
    reconciler.tick()
    attempts = {r.run_id: (r.status, r.attempt) for r in coord.store.list_runs(finished.job_id)}
    assert attempts == {
        finished.run_id: (RunStatus.RUNNING, 1),
        forgotten.run_id: (RunStatus.QUEUED, 2),
    }


class CountingStore(MemoryJobStore):
    """Counts the reads of whole runs and jobs that the farm's hot paths make."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: dict[str, int] = {}

    def _count(self, name: str) -> None:
        self.reads[name] = self.reads.get(name, 0) + 1

    def get_run(self, run_id: str) -> RunRecord | None:
        self._count("get_run")
        return super().get_run(run_id)

    def get_runs(self, run_ids: Collection[str]) -> list[RunRecord]:
        self._count("get_runs")
        return super().get_runs(run_ids)

    def unfinished_runs(self, queues: Collection[str] | None = None) -> list[RunRecord]:
        self._count("unfinished_runs")
        return super().unfinished_runs(queues)

    def get_job(self, job_id: str) -> JobSpec:
        self._count("get_job")
        return super().get_job(job_id)

    def list_devices(self) -> list[DeviceRecord]:
        self._count("list_devices")
        return super().list_devices()


@pytest.fixture
def counted(
    app: Celery, liveness: MemoryLiveness, sent: Sent, beat: Beat
) -> tuple[CountingStore, Coordinator]:
    """A coordinator over a counting store, with iPhone "a" heartbeating."""
    store = CountingStore()
    beat(_iphone("a"))
    return store, Coordinator(store, MemoryArtifactStore(), app, liveness, wait_s=60)


def test_submitting_and_recording_read_no_run_back_and_each_job_at_most_once(
    counted: tuple[CountingStore, Coordinator], app: Celery, liveness: MemoryLiveness, sent: Sent
) -> None:
    store, coord = counted
    a = _iphone("a")
    specs = coord.submit(_job(DeviceSelector(device_ids=("a",)), tuple(ComputeUnit)))
    assert len(sent) == 4
    # The devices (their compute units); what else waits on its queues (fairness) is read
    # as columns (``unfinished_states``), not as runs.
    assert store.reads == {"list_devices": 1}
    store.reads.clear()
    for spec in specs:
        coord.run_started(spec.run_id, "a", 1)
        coord.record(_result(spec, a, RunStatus.PASSED))
    # The job was cached at submit, and the UPDATE refuses stale results by itself.
    assert store.reads == {}
    assert all(r.status is RunStatus.PASSED for r in store.list_runs(specs[0].job_id))

    fresh = Coordinator(store, MemoryArtifactStore(), app, liveness, wait_s=60)
    fresh.record(_result(specs[0], a, RunStatus.PASSED))  # a duplicate, after a restart
    # The run is read only to say why the duplicate is ignored.
    assert store.reads == {"get_job": 1, "get_run": 1}


def test_a_pool_job_is_planned_without_reading_the_known_devices(
    counted: tuple[CountingStore, Coordinator], sent: Sent
) -> None:
    store, coord = counted
    coord.submit(_job(DeviceSelector(pools=("iPhone15,2",)), (ComputeUnit.CPU,)))
    assert "list_devices" not in store.reads  # a pool's runs go to its queue, whoever is in it
    coord.submit(_job(DeviceSelector(kinds=("ios",)), (ComputeUnit.CPU,)))
    assert store.reads["list_devices"] == 1  # a filter picks devices: those it has seen
    assert len(sent) == 2


def test_a_reconciler_tick_reads_no_run_whole_while_all_are_in_flight(
    counted: tuple[CountingStore, Coordinator], liveness: MemoryLiveness, sent: Sent, beat: Beat
) -> None:
    store, coord = counted
    a = _iphone("a")
    running, *queued = coord.submit(_job(DeviceSelector(pools=("iPhone15,2",)), tuple(ComputeUnit)))
    coord.run_started(running.run_id, "a", 1)
    beat(a, DeviceState.BUSY, running.run_id)
    store.reads.clear()
    reconciler = Reconciler(coord, liveness)
    reconciler.tick()
    assert store.reads == {"list_devices": 1}  # the device sync's, every tick: no run read
    assert len(sent) == 4

    store.reads.clear()
    liveness.set_run(queued[0].run_id, "")  # this one's message was lost with its flag
    reconciler.tick()
    assert store.reads == {"list_devices": 1, "get_runs": 1}
    assert sent[-1] == (queued[0].run_id, 1, "pomar.pool.iPhone15,2")


class CountingLiveness(MemoryLiveness):
    """Counts flag writes: a job's first dispatch sets all its flags in one round trip."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []

    def set_run(self, run_id: str, value: str) -> None:
        self.writes.append(1)
        super().set_run(run_id, value)

    def set_runs(self, flags: Mapping[str, str]) -> None:
        self.writes.append(len(flags))
        super().set_runs(flags)


def test_a_job_s_runs_are_flagged_in_one_round_trip_and_all_sent(app: Celery, sent: Sent) -> None:
    liveness = CountingLiveness()
    now = datetime.now(UTC)
    liveness.beat(Heartbeat(info=_iphone("a"), state=DeviceState.IDLE, agent="x", at=now), 30)
    coord = Coordinator(MemoryJobStore(), MemoryArtifactStore(), app, liveness, wait_s=60)
    job = _job(DeviceSelector(pools=("iPhone15,2", "nobody")), tuple(ComputeUnit))
    specs = coord.submit(job)
    assert liveness.writes == [4]  # the live pool's four runs; "nobody" has no device yet
    assert sorted(run_id for run_id, _, _ in sent) == sorted(
        s.run_id for s in specs if s.run_id in liveness.run_flags([s.run_id for s in specs])
    )
    waiting = [r for r in coord.store.list_runs(job.job_id) if r.queue == "pomar.pool.nobody"]
    assert len(waiting) == 4
    assert all(
        (r.detail or "").startswith("waiting for a live device in pool 'nobody'") for r in waiting
    )


def test_a_submit_may_route_on_a_recent_view_and_the_next_tick_heals_it(
    app: Celery, liveness: MemoryLiveness, sent: Sent, beat: Beat
) -> None:
    coord = Coordinator(
        MemoryJobStore(), MemoryArtifactStore(), app, liveness, wait_s=60, live_max_age_s=3600
    )
    first = coord.submit(_job(DeviceSelector(pools=("iPhone15,2",)), (ComputeUnit.CPU,)))
    beat(_iphone("a"))  # the pool's device comes after the view was read
    second = coord.submit(_job(DeviceSelector(pools=("iPhone15,2",)), (ComputeUnit.CPU,)))
    assert sent == []  # both routed on the view without it: they wait
    Reconciler(coord, liveness).tick()  # reads afresh, and sends what waits
    assert sorted(run_id for run_id, _, _ in sent) == sorted(s.run_id for s in first + second)

    sent.clear()
    fresh = Coordinator(coord.store, coord.artifacts, app, liveness, wait_s=60)
    (third,) = fresh.submit(_job(DeviceSelector(pools=("iPhone15,2",)), (ComputeUnit.CPU,)))
    assert [run_id for run_id, _, _ in sent] == [third.run_id]  # by default: read every time
