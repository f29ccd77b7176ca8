"""``pomar doctor``, the farm side: broker reachable and authenticated, store reachable and
migrated, artifact store writable, agents and their devices heartbeating. Each check answers
in one :class:`~pomar_core.health.HealthCheck` whose failure names the fix."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from pomar_core.artifact_stores import open_artifacts
from pomar_core.errors import PomarError
from pomar_core.health import HealthCheck, failed, passed, redact_url, skipped
from pomar_core.settings import Settings

CONNECT_TIMEOUT_S = 3.0
PROBE = b"pomar doctor: artifact store write probe\n"


def farm_checks(settings: Settings) -> list[HealthCheck]:
    broker = check_broker(settings)
    checks = [broker, check_store(settings), check_artifacts(settings)]
    if broker.status == "pass":
        checks.append(check_agents(settings))
    elif settings.broker_url:
        checks.append(skipped("agents", "the broker is not reachable"))
    else:
        checks.append(skipped("agents", "embedded (POMAR_BROKER_URL unset): no agents needed"))
    return checks


def check_broker(settings: Settings) -> HealthCheck:
    name = "broker"
    url = settings.broker_url
    if not url:
        return skipped(name, "embedded (POMAR_BROKER_URL unset): Celery runs in process")
    shown = redact_url(url)
    if not url.startswith(("redis://", "rediss://")):
        return failed(
            name,
            f"{shown} is not a Redis URL",
            "set POMAR_BROKER_URL=redis://:PASSWORD@host:6379/0",
        )
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=CONNECT_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S
    )
    try:
        client.ping()
        version = client.info("server").get("redis_version", "?")
    except (redis.AuthenticationError, redis.ResponseError) as exc:
        if not isinstance(exc, redis.AuthenticationError) and not _auth_error(exc):
            return failed(name, f"Redis at {shown} answered: {exc}", "check the Redis server")
        has_password = bool(urlsplit(url).password)
        found = "refused the password" if has_password else "needs a password, the URL has none"
        return failed(
            name,
            f"Redis at {shown} {found}",
            "put the right password in POMAR_BROKER_URL: redis://:PASSWORD@host:6379/0",
        )
    except redis.RedisError as exc:
        return failed(
            name,
            f"cannot reach Redis at {shown}: {exc.__class__.__name__}: {exc}",
            "check the host and port in POMAR_BROKER_URL and that redis-server is running there",
        )
    finally:
        client.close()
    return passed(name, f"Redis {version} at {shown} answers and accepts the credentials")


def _auth_error(exc: Exception) -> bool:
    return any(code in str(exc) for code in ("NOAUTH", "WRONGPASS", "authenticat"))


def check_store(settings: Settings) -> HealthCheck:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from orchestrator import migrations

    name = "store"
    url = settings.resolved_store_url
    shown = redact_url(url)
    sqlite = url.startswith("sqlite")
    args = {} if sqlite else {"connect_timeout": int(CONNECT_TIMEOUT_S)}
    if url.startswith("postgresql://"):  # the driver the store uses (pomar[farm])
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    try:
        engine = create_engine(url, connect_args=args)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        return failed(
            name,
            f"cannot use the store URL {shown}: {exc.__class__.__name__}: {exc}",
            "set POMAR_STORE_URL=postgresql://user:PASSWORD@host:5432/pomar "
            "(PostgreSQL needs pip install 'pomar[farm]')",
        )
    try:
        if sqlite:
            return passed(name, f"SQLite at {shown} (migrates itself on open)")
        at, head = migrations.current(engine), migrations.head()
    except SQLAlchemyError as exc:
        reason = " ".join(str(getattr(exc, "orig", exc)).split())[:300]
        return failed(
            name,
            f"cannot open the store at {shown}: {reason}",
            "check the host, port, user, password and database in POMAR_STORE_URL, "
            "and that PostgreSQL is running",
        )
    finally:
        engine.dispose()
    if at != head:
        return failed(
            name,
            f"the store at {shown} is at schema {at or 'none (empty database)'}, needs {head}",
            "start `pomar coordinator` once: it migrates the store",
        )
    return passed(name, f"{shown} reachable, at schema {head}")


def check_artifacts(settings: Settings) -> HealthCheck:
    name = "artifacts"
    where = settings.artifacts_url or str(settings.artifacts_dir)
    try:
        store = open_artifacts(settings)
        sha = store.put_bytes(PROBE)
        if store.get_bytes(sha) != PROBE:
            return failed(
                name, f"{where} returned other bytes than were written", "check the store"
            )
    except (OSError, PomarError) as exc:
        text = exc.one_line() if isinstance(exc, PomarError) else f"{exc.__class__.__name__}: {exc}"
        return failed(
            name,
            f"cannot write to the artifact store {where}: {text}",
            "make it writable by this user (chown/chmod, or mount it read-write), "
            "or point POMAR_ARTIFACTS_URL at a writable directory or s3:// bucket",
        )
    return passed(name, f"{where} is writable and reads back")


def check_agents(settings: Settings) -> HealthCheck:
    from pomar_core.leases import RedisLiveness

    name = "agents"
    assert settings.broker_url
    liveness = RedisLiveness(settings.broker_url)
    try:
        beats = liveness.live()
    except PomarError as exc:
        return failed(name, exc.one_line(), "check POMAR_BROKER_URL and that Redis is running")
    finally:
        liveness.close()
    if not beats:
        return failed(
            name,
            "no agent is heartbeating: no device can take a run",
            "start `pomar agent` on each device host with the same POMAR_BROKER_URL "
            "(`pomar agent install-service` keeps it running)",
        )
    now = datetime.now(UTC)
    agents = {b.agent for b in beats.values()}
    states: dict[str, int] = {}
    for b in beats.values():
        states[b.state.value] = states.get(b.state.value, 0) + 1
    oldest = max((now - b.at).total_seconds() for b in beats.values())
    summary = ", ".join(f"{n} {s}" for s, n in sorted(states.items()))
    detail = (
        f"{len(beats)} device(s) on {len(agents)} agent(s): {summary}; oldest beat {oldest:.0f}s"
    )
    if states.get("quarantined", 0) == len(beats):
        return failed(
            name, detail, "every device is quarantined: `pomar devices --json` says why in detail"
        )
    return passed(name, detail)
