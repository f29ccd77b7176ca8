"""A served farm for the API tests: PostgreSQL (a database of its own, dropped after), our own
redis-server as the broker, artifacts on disk, the ASGI app behind Starlette's test client."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from orchestrator.coordinator import Coordinator
from orchestrator.server.app import create_app
from orchestrator.server.service import FarmService
from orchestrator.server.submissions import SubmissionStore
from orchestrator.server.tables import engine_of
from orchestrator.server.tokens import Scope, TokenStore
from orchestrator.stores.sql import SqlJobStore, migrate
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.celery_app import make_app
from pomar_core.leases import RedisLiveness
from tests.conftest import need_service
from tests.integration.conftest import RedisServer

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres", connect_timeout=2
        ):
            return True
    except Exception:
        return False


@contextlib.contextmanager
def pg_database(prefix: str = "pomar_serve_test") -> Iterator[str]:
    """A PostgreSQL database of our own (``<prefix>_…``), dropped afterwards."""
    if not _pg_available():
        need_service("PostgreSQL", "127.0.0.1:5432 with trust auth")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        migrate(url)
        yield url


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    if shutil.which("redis-server") is None:
        need_service("Redis", "redis-server is not on PATH")
    workdir = Path(tempfile.mkdtemp(prefix="pomar-serve-redis-"))
    server = RedisServer(workdir)
    server.start()
    try:
        yield server.url
    finally:
        server.kill()
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class Served:
    service: FarmService
    http: TestClient
    store: SqlJobStore

    def token(self, *scopes: Scope, name: str = "tester") -> str:
        plain, _ = self.service.tokens.create(name, scopes or (Scope.SUBMIT,))
        return plain

    def headers(self, *scopes: Scope) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(*scopes)}"}


def make_service(store: SqlJobStore, broker: str, root: Path, upload_limit: int) -> FarmService:
    artifacts = LocalArtifactStore(root / "artifacts")
    liveness = RedisLiveness(broker)
    coordinator = Coordinator(
        store, artifacts, make_app(broker, name="pomar-serve-test"), liveness, wait_s=None
    )
    engine = engine_of(store)
    return FarmService(
        store=store,
        artifacts=artifacts,
        coordinator=coordinator,
        liveness=liveness,
        tokens=TokenStore(engine),
        submissions=SubmissionStore(engine),
        cache_dir=root / "cache",
        upload_limit=upload_limit,
    )


@pytest.fixture
def served(pg_url: str, broker: str, tmp_path: Path) -> Iterator[Served]:
    store = SqlJobStore(pg_url)
    service = make_service(store, broker, tmp_path, upload_limit=1 << 20)
    with TestClient(create_app(service)) as http:
        yield Served(service, http, store)
    store.close()
