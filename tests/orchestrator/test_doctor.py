"""`pomar doctor`'s farm checks against a live Redis and PostgreSQL, and one clear message for
each broken configuration."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from orchestrator import migrations
from orchestrator.doctor import check_agents, check_artifacts, check_broker, check_store
from pomar_core.health import HealthStatus
from pomar_core.leases import RedisLiveness
from pomar_core.settings import Settings
from pomar_core.wire import DeviceInfo, DeviceKind, DeviceState, Heartbeat
from tests.conftest import need_service
from tests.orchestrator.stores.test_migrations import fresh_pg_database  # noqa: F401 (a fixture)

REDIS_URL = "redis://127.0.0.1:6379/13"


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_url() -> str:
    if not _listening(6379):
        need_service("Redis", "127.0.0.1:6379")
    return REDIS_URL


@pytest.fixture
def password_redis(tmp_path: Path) -> Iterator[int]:
    """Our own redis-server that needs a password (killed by its pid afterwards)."""
    if shutil.which("redis-server") is None:
        need_service("Redis", "redis-server is not on PATH")
    port = _free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            "s3cret",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not _listening(port):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    yield port
    proc.kill()
    proc.wait(10)


def settings(tmp_path: Path, **fields: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", **fields)  # type: ignore[arg-type]


@pytest.mark.redis
def test_a_live_redis_passes_the_broker_check(redis_url: str, tmp_path: Path) -> None:
    check = check_broker(settings(tmp_path, broker_url=redis_url))
    assert check.status is HealthStatus.PASSED, check.line()
    assert "accepts the credentials" in check.detail


def test_a_wrong_redis_port_says_it_cannot_reach_it(tmp_path: Path) -> None:
    port = _free_port()
    check = check_broker(settings(tmp_path, broker_url=f"redis://127.0.0.1:{port}/0"))
    assert check.status is HealthStatus.FAILED
    assert f"cannot reach Redis at redis://127.0.0.1:{port}/0" in check.detail
    assert check.fix
    assert "host and port in POMAR_BROKER_URL" in check.fix


@pytest.mark.redis
def test_a_wrong_or_missing_redis_password_says_so_without_showing_it(
    password_redis: int, tmp_path: Path
) -> None:
    wrong = check_broker(
        settings(tmp_path, broker_url=f"redis://:nope@127.0.0.1:{password_redis}/0")
    )
    missing = check_broker(settings(tmp_path, broker_url=f"redis://127.0.0.1:{password_redis}/0"))
    right = check_broker(
        settings(tmp_path, broker_url=f"redis://:s3cret@127.0.0.1:{password_redis}/0")
    )
    assert wrong.status is HealthStatus.FAILED
    assert "refused the password" in wrong.detail
    assert "nope" not in wrong.line()
    assert missing.status is HealthStatus.FAILED
    assert "needs a password, the URL has none" in missing.detail
    assert wrong.fix
    assert "password in POMAR_BROKER_URL" in wrong.fix
    assert right.status is HealthStatus.PASSED


def test_a_broker_url_that_is_not_redis_is_named(tmp_path: Path) -> None:
    check = check_broker(settings(tmp_path, broker_url="amqp://guest@localhost//"))
    assert check.status is HealthStatus.FAILED
    assert "is not a Redis URL" in check.detail


@pytest.mark.postgres
def test_a_migrated_postgres_store_passes_and_an_empty_one_says_migrate(
    fresh_pg_database: str,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> None:
    empty = check_store(settings(tmp_path, store_url=fresh_pg_database))
    assert empty.status is HealthStatus.FAILED
    assert "is at schema none (empty database)" in empty.detail
    assert empty.fix
    assert "pomar coordinator" in empty.fix
    engine = create_engine(fresh_pg_database.replace("postgresql://", "postgresql+psycopg://"))
    migrations.upgrade(engine)
    engine.dispose()
    migrated = check_store(settings(tmp_path, store_url=fresh_pg_database))
    assert migrated.status is HealthStatus.PASSED, migrated.line()
    assert f"at schema {migrations.head()}" in migrated.detail


@pytest.mark.postgres
def test_a_wrong_postgres_url_names_what_failed(tmp_path: Path) -> None:
    if not _listening(5432):
        need_service("PostgreSQL", "127.0.0.1:5432")
    port = _free_port()
    no_db = check_store(settings(tmp_path, store_url="postgresql://postgres@127.0.0.1:5432/nope_x"))
    no_server = check_store(settings(tmp_path, store_url=f"postgresql://u:pw@127.0.0.1:{port}/p"))
    assert no_db.status is HealthStatus.FAILED
    assert 'database "nope_x" does not exist' in no_db.detail
    assert no_server.status is HealthStatus.FAILED
    assert "cannot open the store" in no_server.detail
    assert "pw" not in no_server.detail.split("@")[0]
    assert no_server.fix
    assert "POMAR_STORE_URL" in no_server.fix


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory this process cannot write to, even as root (immutable)."""
    folder = tmp_path / "ro-artifacts"
    folder.mkdir()
    import os

    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False).returncode:
        pytest.skip("running as root without chattr +i: no way to make a read-only directory")
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_a_writable_artifact_dir_passes(tmp_path: Path) -> None:
    check = check_artifacts(settings(tmp_path, artifacts_url=str(tmp_path / "shared")))
    assert check.status is HealthStatus.PASSED


def test_a_read_only_artifact_dir_says_make_it_writable(
    read_only_dir: Path, tmp_path: Path
) -> None:
    check = check_artifacts(settings(tmp_path, artifacts_url=str(read_only_dir)))
    assert check.status is HealthStatus.FAILED
    assert f"cannot write to the artifact store {read_only_dir}" in check.detail
    assert check.fix
    assert "writable" in check.fix


def _beat(udid: str, state: DeviceState) -> Heartbeat:
    info = DeviceInfo(
        udid=udid,
        kind=DeviceKind.EMULATED,
        product_type="Emulator",
        marketing_name="emulator",
        chip="cpu",
        pools=("emulator",),
    )
    return Heartbeat(info=info, state=state, agent="agent@test", at=datetime.now(UTC))


@pytest.mark.redis
def test_no_agents_fails_and_live_ones_pass_with_their_states(
    redis_url: str, tmp_path: Path
) -> None:
    liveness = RedisLiveness(redis_url)
    liveness._redis.flushdb()
    try:
        none = check_agents(settings(tmp_path, broker_url=redis_url))
        assert none.status is HealthStatus.FAILED
        assert "no agent is heartbeating" in none.detail
        assert none.fix
        assert "pomar agent" in none.fix
        liveness.beat(_beat("doctor-0", DeviceState.IDLE), ttl_s=30)
        liveness.beat(_beat("doctor-1", DeviceState.BUSY), ttl_s=30)
        live = check_agents(settings(tmp_path, broker_url=redis_url))
        assert live.status is HealthStatus.PASSED, live.line()
        assert "2 device(s) on 1 agent(s): 1 busy, 1 idle" in live.detail
    finally:
        liveness._redis.flushdb()
        liveness.close()
