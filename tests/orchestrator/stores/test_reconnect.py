"""A job store whose database connection died (PostgreSQL restarted, or an idle connection was
dropped) carries on: the call that finds the dead connection runs again on a fresh one."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from orchestrator.stores.sql import SqlJobStore, migrate
from tests.conftest import need_service
from tests.factories import job_spec, run_spec
from tests.orchestrator.stores.test_job_store_contract import PG_URL, _pg_available

pytestmark = pytest.mark.postgres


@pytest.fixture
def store() -> Iterator[SqlJobStore]:
    if not _pg_available():
        need_service("PostgreSQL", "127.0.0.1:5432 with trust auth, database 'test'")
    migrate(PG_URL)
    sql = SqlJobStore(PG_URL)
    yield sql
    sql.close()


def _kill_pooled_connection(store: SqlJobStore) -> None:
    """Terminate the backend of the store's one pooled connection, as a restart would."""
    with store.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    import psycopg

    with psycopg.connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True
    ) as admin:  # autocommit: pg_stat_activity is a snapshot per transaction
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
            if row.fetchone() == (0,):
                return
            time.sleep(0.05)
    raise AssertionError(f"backend {pid} did not end")


def test_a_read_and_a_write_after_the_connection_died_succeed(store: SqlJobStore) -> None:
    job = job_spec(uuid.uuid4().hex)
    spec = run_spec(job, 1)
    store.add_job(job, [(spec, "q")])

    _kill_pooled_connection(store)
    assert store.get_job(job.job_id) == job

    _kill_pooled_connection(store)
    assert store.mark_running(spec.run_id, "emulated-0", attempt=1)
    record = store.get_run(spec.run_id)
    assert record is not None
    assert record.device_udid == "emulated-0"
