"""Upgrading a store never loses history: a store made before migrations existed is adopted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from orchestrator import migrations
from orchestrator.stores.sql import SqlJobStore, _make_engine, migrate
from pomar_core.errors import StoreError
from pomar_core.wire import RunStatus
from tests.orchestrator.server.conftest import pg_database
from tests.orchestrator.stores.test_job_store_contract import _job, _result, _run

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _old_pomar_store(url: str) -> tuple[str, str]:
    """A store as the first Pomar left it: baseline tables, one finished run, no Alembic."""
    engine = _make_engine(url)
    migrations.upgrade(engine, migrations.BASELINE)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    job = _job(uuid.uuid4().hex)
    spec = _run(job, 1)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO jobs (job_id, label, spec_json, created_at) "
                "VALUES (:id, NULL, :spec, CURRENT_TIMESTAMP)"
            ),
            {"id": job.job_id, "spec": job.model_dump_json()},
        )
        conn.execute(
            text(
                "INSERT INTO runs (run_id, job_id, queue, status, device_udid, attempt, "
                "spec_json, result_json, created_at, updated_at) VALUES (:r, :j, 'q', "
                "'parity_failed', 'emulated-0', 1, :spec, :result, CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"
            ),
            {
                "r": spec.run_id,
                "j": job.job_id,
                "spec": spec.model_dump_json(),
                "result": _result(spec, RunStatus.PARITY_FAILED).model_dump_json(),
            },
        )
    engine.dispose()
    return job.job_id, spec.run_id


def _assert_history_kept(store: SqlJobStore, job_id: str, run_id: str) -> None:
    assert store.get_job(job_id).job_id == job_id
    record = store.get_run(run_id)
    assert record is not None
    assert record.status is RunStatus.PARITY_FAILED
    assert record.result is not None
    assert record.detail is None
    assert migrations.current(store.engine) == migrations.head()


def test_a_sqlite_store_from_before_migrations_is_upgraded_on_open_with_its_history(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    job_id, run_id = _old_pomar_store(url)
    store = SqlJobStore(url)
    _assert_history_kept(store, job_id, run_id)
    store.close()


@pytest.fixture
def fresh_pg_database() -> Iterator[str]:
    with pg_database("pomar_upgrade") as url:
        yield url


@pytest.mark.postgres
def test_a_postgres_store_refuses_to_open_until_migrated_and_keeps_its_history(
    fresh_pg_database: str,
) -> None:
    job_id, run_id = _old_pomar_store(fresh_pg_database)
    with pytest.raises(StoreError) as caught:
        SqlJobStore(fresh_pg_database)
    assert "pomar coordinator" in caught.value.one_line()
    migrate(fresh_pg_database)
    migrate(fresh_pg_database)  # a second coordinator start changes nothing
    store = SqlJobStore(fresh_pg_database)
    _assert_history_kept(store, job_id, run_id)
    store.close()
