"""The coordinator's bookkeeping against real Redis, a real PostgreSQL store and real processes:
waiting visibly for a pool, cancelling, duplicate and unknown results."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pomar_core.celery_app import send_result
from pomar_core.wire import ComputeUnit, DeviceSelector, RunStatus
from tests.conftest import need_service
from tests.integration.conftest import FarmProcesses, RedisServer, wait_for
from tests.integration.models import tiny_job
from tests.orchestrator.stores.test_job_store_contract import _pg_available

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.slow]

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WAIT_DEADLINE_S = 10


@pytest.fixture
def pg_farm(tmp_path: Path, redis_server: RedisServer) -> Iterator[FarmProcesses]:
    if not _pg_available():
        need_service("PostgreSQL", "127.0.0.1:5432 with trust auth, database 'test'")
    name = f"pomar_farm_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    procs = FarmProcesses(tmp_path, redis_server, f"postgresql://postgres@127.0.0.1:5432/{name}")
    try:
        yield procs
    finally:
        procs.stop_all()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_waiting_cancelling_and_stray_results_are_visible_and_harmless(
    pg_farm: FarmProcesses,
) -> None:
    procs = pg_farm
    # Migrates the empty PostgreSQL database. The deadline leaves room to look at the waiting
    # run on a loaded machine; the test waits for states, never for time.
    procs.coordinator("--wait-deadline", str(WAIT_DEADLINE_S))
    procs.hold("emulated-50")
    procs.agent("agent", first=50, count=1, pool="bookpool")
    wait_for("the store to be migrated", lambda: "recording results" in procs.log("coordinator"))
    farm = procs.client()
    wait_for("the device to heartbeat", lambda: "emulated-50" in farm.liveness.live())

    # A pool with no live device: the run waits, visibly, then fails with the reason.
    lonely = tiny_job(farm.artifacts, DeviceSelector(pools=("nobody",)))
    farm.coordinator.submit(lonely)
    wait_for(
        "the coordinator to mark the run waiting",
        lambda: (farm.store.list_runs(lonely.job_id)[0].detail or "").startswith("waiting"),
    )
    shown = procs.cli_in_process("status", lonely.job_id, "--json")
    assert shown.returncode == 0, shown.stderr
    (run,) = json.loads(shown.stdout)["runs"]
    assert run["status"] == "queued"
    assert run["detail"].startswith("waiting for a live device in pool 'nobody'")
    wait_for(
        "the deadline",
        lambda: all(r.status.finished for r in farm.store.list_runs(lonely.job_id)),
    )
    (timed_out,) = farm.store.list_runs(lonely.job_id)
    assert timed_out.status is RunStatus.TIMEOUT
    assert timed_out.result is not None
    assert timed_out.result.error == (
        f"no live device in pool 'nobody' within {WAIT_DEADLINE_S}s of waiting"
    )

    # Cancel: the queued run is dropped by the agent, the running one's result ignored.
    job = tiny_job(
        farm.artifacts, DeviceSelector(pools=("bookpool",)), (ComputeUnit.CPU, ComputeUnit.GPU)
    )
    farm.coordinator.submit(job)
    wait_for(
        "one run running",
        lambda: RunStatus.RUNNING in {r.status for r in farm.store.list_runs(job.job_id)},
    )
    cancelled = procs.cli("cancel", job.job_id)
    assert (cancelled.returncode, cancelled.stdout.strip()) == (
        0,
        f"cancelled 2 run(s) of {job.job_id}",
    )
    procs.release("emulated-50")
    wait_for("the queued run to be dropped", lambda: "dropped: cancelled" in procs.log("agent"))
    wait_for(
        "the running run's result to be ignored",
        lambda: "ignored: already cancelled" in procs.log("coordinator"),
    )
    assert {(r.status, r.result) for r in farm.store.list_runs(job.job_id)} == {
        (RunStatus.CANCELLED, None)
    }

    # Duplicate delivery and a result for an unknown run change nothing.
    done = tiny_job(farm.artifacts, DeviceSelector(pools=("bookpool",)))
    (spec,) = farm.coordinator.submit(done)
    wait_for("the run to pass", lambda: farm.store.list_runs(done.job_id)[0].status.finished)
    (before,) = farm.store.list_runs(done.job_id)
    assert before.status is RunStatus.PASSED
    assert before.result is not None
    send_result(farm.app, before.result)
    send_result(farm.app, before.result.model_copy(update={"run_id": "run-nobody-knows"}))
    wait_for(
        "both strays to be logged",
        lambda: "result for unknown run run-nobody-knows ignored" in procs.log("coordinator"),
    )
    assert f"result for run {spec.run_id} ignored: already passed" in procs.log("coordinator")
    (after,) = farm.store.list_runs(done.job_id)
    assert (after.status, after.result, after.attempt) == (before.status, before.result, 1)
