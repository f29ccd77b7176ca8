"""The same cases against every JobStore: SQLite, PostgreSQL (when reachable) and memory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.store import DeviceRecord, JobStore, Schedule
from orchestrator.stores.memory import MemoryJobStore
from orchestrator.stores.sql import SqlJobStore, migrate
from pomar_core.errors import UsageError
from pomar_core.wire import (
    DeviceInfo,
    DeviceKind,
    DeviceState,
    JobSpec,
    RunResult,
    RunSpec,
    RunStatus,
)
from tests.conftest import need_service
from tests.factories import job_spec, run_spec

SHA = "b" * 64
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=2
        ):
            return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "memory", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    if request.param == "sqlite":
        yield SqlJobStore(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    elif request.param == "memory":
        yield MemoryJobStore()
    else:
        if not _pg_available():
            need_service("PostgreSQL", "127.0.0.1:5432 with trust auth, database 'test'")
        migrate(PG_URL)
        sql = SqlJobStore(PG_URL)
        yield sql
        sql.engine.dispose()


def _job(job_id: str) -> JobSpec:
    return job_spec(job_id)


def _run(job: JobSpec, n: int) -> RunSpec:
    return run_spec(job, n)


def _result(spec: RunSpec, status: RunStatus = RunStatus.PASSED, attempt: int = 1) -> RunResult:
    device = DeviceInfo(
        udid="emulated-0", kind=DeviceKind.EMULATED, product_type="Emulator", marketing_name="e"
    )
    return RunResult(
        run_id=spec.run_id,
        job_id=spec.job_id,
        device=device,
        compute_unit=spec.compute_unit,
        status=status,
        attempt=attempt,
    )


def test_a_job_and_its_runs_come_back_as_saved(store: JobStore) -> None:
    job = _job(uuid.uuid4().hex)
    runs = [(_run(job, 1), "q1"), (_run(job, 2), "q2")]
    store.add_job(job, runs)
    assert store.get_job(job.job_id) == job
    records = store.list_runs(job.job_id)
    assert [r.spec for r in records] == [spec for spec, _ in runs]
    assert all(r.status is RunStatus.QUEUED for r in records)
    assert job.job_id in [j.job_id for j in store.list_jobs()]


def test_recording_a_result_twice_changes_nothing_the_second_time(store: JobStore) -> None:
    job = _job(uuid.uuid4().hex)
    spec = _run(job, 1)
    store.add_job(job, [(spec, "q")])
    assert store.mark_running(spec.run_id, "emulated-0")
    assert store.record_result(_result(spec, RunStatus.PARITY_FAILED))
    assert not store.record_result(_result(spec, RunStatus.PASSED))
    record = store.get_run(spec.run_id)
    assert record is not None
    assert record.status is RunStatus.PARITY_FAILED
    assert record.result is not None
    assert record.result.status is RunStatus.PARITY_FAILED


def test_a_result_for_an_unknown_or_cancelled_run_is_ignored(store: JobStore) -> None:
    job = _job(uuid.uuid4().hex)
    spec = _run(job, 1)
    stranger = _run(_job(uuid.uuid4().hex), 9)
    assert not store.record_result(_result(stranger))
    store.add_job(job, [(spec, "q")])
    assert store.cancel_job(job.job_id) == 1
    assert not store.record_result(_result(spec))
    assert not store.mark_running(spec.run_id, "emulated-0")
    record = store.get_run(spec.run_id)
    assert record is not None
    assert record.status is RunStatus.CANCELLED


def test_an_unknown_job_is_a_usage_error_that_says_how_to_list_jobs(store: JobStore) -> None:
    with pytest.raises(UsageError) as caught:
        store.get_job("nope")
    assert "pomar status" in caught.value.one_line()


def test_a_retry_supersedes_the_attempt_in_flight_and_its_late_result_is_ignored(
    store: JobStore,
) -> None:
    job = _job(uuid.uuid4().hex)
    spec = _run(job, 1)
    store.add_job(job, [(spec, "pomar.pool.p")])
    assert store.mark_running(spec.run_id, "emulated-0", attempt=1)
    retry = spec.model_copy(update={"attempt": 2})
    assert store.requeue(retry, "pomar.device.emulated-1", detail="attempt 1: device_lost")
    assert not store.requeue(retry, "pomar.device.emulated-1")  # already moved on
    assert not store.record_result(_result(spec, attempt=1))
    assert not store.mark_running(spec.run_id, "emulated-0", attempt=1)
    assert store.mark_running(spec.run_id, "emulated-1", attempt=2)
    assert store.record_result(_result(spec, attempt=2))
    record = store.get_run(spec.run_id)
    assert record is not None
    assert (record.status, record.attempt, record.queue) == (
        RunStatus.PASSED,
        2,
        "pomar.device.emulated-1",
    )


def test_unfinished_runs_show_why_a_queued_run_waits_and_until_when(store: JobStore) -> None:
    job = _job(uuid.uuid4().hex)
    waiting, done = _run(job, 1), _run(job, 2)
    store.add_job(job, [(waiting, "pomar.pool.nobody"), (done, "q")])
    store.record_result(_result(done))
    deadline = datetime.now(UTC) + timedelta(minutes=5)
    assert store.set_waiting(waiting.run_id, "waiting for a live device in pool nobody", deadline)
    mine = [r for r in store.unfinished_runs() if r.spec.job_id == job.job_id]
    assert [r.run_id for r in mine] == [waiting.run_id]
    assert mine[0].detail == "waiting for a live device in pool nobody"
    assert mine[0].deadline_at is not None
    assert abs((mine[0].deadline_at - deadline).total_seconds()) < 1


def test_a_device_keeps_its_first_sighting_and_takes_its_latest_state(store: JobStore) -> None:
    udid = f"emulated-{uuid.uuid4().hex[:6]}"
    info = DeviceInfo(
        udid=udid, kind=DeviceKind.EMULATED, product_type="Emulator", marketing_name="e"
    )
    first = datetime(2024, 1, 1, tzinfo=UTC)
    later = datetime(2024, 1, 2, tzinfo=UTC)
    store.save_device(
        DeviceRecord(info=info, state=DeviceState.IDLE, first_seen=first, last_seen=first)
    )
    store.save_device(
        DeviceRecord(
            info=info, state=DeviceState.LOST, current_run="r1", first_seen=later, last_seen=later
        )
    )
    found = [d for d in store.list_devices() if d.info.udid == udid]
    assert len(found) == 1
    assert (found[0].state, found[0].current_run) == (DeviceState.LOST, "r1")
    assert (found[0].first_seen, found[0].last_seen) == (first, later)


def test_schedules_are_saved_listed_fired_and_removed(store: JobStore) -> None:
    name = f"nightly-{uuid.uuid4().hex[:6]}"
    now = datetime(2024, 1, 1, tzinfo=UTC)
    schedule = Schedule(
        name=name,
        cron="0 2 * * *",
        models=("examples/cnn.py:build",),
        pools=("iPhone15,2",),
        compute_units=("all",),
        created_at=now,
    )
    store.save_schedule(schedule)
    store.mark_fired(name, now + timedelta(days=1))
    found = [s for s in store.list_schedules() if s.name == name]
    assert found == [schedule.model_copy(update={"last_fired_at": now + timedelta(days=1)})]
    assert store.delete_schedule(name)
    assert not store.delete_schedule(name)


def test_unfinished_runs_by_queue_and_their_states_match_the_records(store: JobStore) -> None:
    job = _job(uuid.uuid4().hex)
    here, there, running, done = (_run(job, n) for n in (1, 2, 3, 4))
    here_q, there_q = f"pomar.pool.{uuid.uuid4().hex[:6]}", f"pomar.pool.{uuid.uuid4().hex[:6]}"
    store.add_job(job, [(here, here_q), (there, there_q), (running, here_q), (done, here_q)])
    assert store.mark_running(running.run_id, "emulated-0", attempt=1)
    assert store.record_result(_result(done))

    assert [r.run_id for r in store.unfinished_runs([here_q])] == [here.run_id, running.run_id]
    assert [r.run_id for r in store.unfinished_runs([there_q])] == [there.run_id]
    assert [s.run_id for s in store.unfinished_states([here_q])] == [here.run_id, running.run_id]
    assert [s.run_id for s in store.unfinished_states([there_q])] == [there.run_id]
    mine = {r.run_id: r for r in store.unfinished_runs() if r.spec.job_id == job.job_id}
    states = {s.run_id: s for s in store.unfinished_states() if s.run_id in mine}
    assert set(states) == {here.run_id, there.run_id, running.run_id}
    for run_id, state in states.items():
        record = mine[run_id]
        assert (state.job_id, state.status, state.attempt, state.queue, state.device_udid) == (
            record.spec.job_id,
            record.status,
            record.attempt,
            record.queue,
            record.device_udid,
        )
        assert state.updated_at == record.updated_at
    assert states[running.run_id].status is RunStatus.RUNNING


def test_runs_are_read_by_id_in_bulk_and_unknown_ids_are_left_out(store: JobStore) -> None:
    job = _job(uuid.uuid4().hex)
    specs = [_run(job, n) for n in range(1, 8)]
    store.add_job(job, [(s, "q") for s in specs])
    wanted = [specs[5].run_id, specs[1].run_id, "no-such-run", specs[5].run_id]
    assert sorted(r.run_id for r in store.get_runs(wanted)) == sorted(
        [specs[1].run_id, specs[5].run_id]
    )
    assert store.get_runs([]) == []


def test_devices_saved_in_one_batch_keep_first_sightings(store: JobStore) -> None:
    tag = uuid.uuid4().hex[:6]
    infos = [
        DeviceInfo(
            udid=f"emulated-{tag}-{i}",
            kind=DeviceKind.EMULATED,
            product_type="Emulator",
            marketing_name="e",
        )
        for i in range(3)
    ]
    first = datetime(2024, 1, 1, tzinfo=UTC)
    later = datetime(2024, 1, 2, tzinfo=UTC)
    store.save_device(
        DeviceRecord(info=infos[0], state=DeviceState.IDLE, first_seen=first, last_seen=first)
    )
    store.save_devices(
        [
            DeviceRecord(info=i, state=DeviceState.BUSY, first_seen=later, last_seen=later)
            for i in infos
        ]
    )
    store.save_devices([])
    saved = {
        d.info.udid: d for d in store.list_devices() if d.info.udid.startswith(f"emulated-{tag}")
    }
    assert [saved[i.udid].state for i in infos] == [DeviceState.BUSY] * 3
    assert saved[infos[0].udid].first_seen == first
    assert saved[infos[1].udid].first_seen == later
