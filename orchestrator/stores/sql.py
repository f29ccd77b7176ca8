"""The job store on SQLAlchemy: SQLite for a laptop, PostgreSQL for a farm.

Wire models are stored as their JSON next to the few columns we query by; the JSON carries its
own protocol version, so a reader always knows what it is reading. The schema is Alembic's
(``orchestrator/migrations``): SQLite is migrated when opened; PostgreSQL by ``pomar
coordinator`` (:func:`migrate`), and a store that is behind says so instead of failing later.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    delete,
    event,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from orchestrator import migrations
from orchestrator.store import DeviceRecord, RunRecord, RunState, Schedule
from pomar_core.errors import StoreError, UsageError
from pomar_core.wire import (
    DeviceInfo,
    DeviceState,
    JobSpec,
    Localisation,
    RunResult,
    RunSpec,
    RunStatus,
)

_FINAL = [s.value for s in RunStatus if s.finished]
_UNFINISHED = [RunStatus.QUEUED.value, RunStatus.RUNNING.value]
_CHUNK = 500
"""Ids per ``IN (...)``: well under every database's bound-parameter limit."""

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _reconnecting(method: Callable[_P, _T]) -> Callable[_P, _T]:
    """Retry once when the pooled connection turned out to be dead (the database restarted).

    Connections are not pinged on every checkout (``pool_pre_ping`` costs a round trip per
    store call, a third of a recorded run's); instead a dead one fails its first statement,
    SQLAlchemy invalidates the pool, and the call runs again on a fresh connection. Only
    failures that invalidated the connection are retried, so a statement that failed on its
    own merits is never sent twice.
    """

    @functools.wraps(method)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return method(*args, **kwargs)
        except StoreError as exc:
            cause = exc.__cause__
            if not (isinstance(cause, DBAPIError) and cause.connection_invalidated):
                raise
            return method(*args, **kwargs)

    return wrapper


def _now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class JobRow(Base):
    __tablename__ = "jobs"

    job_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str | None] = mapped_column(String(200))
    spec_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RunRow(Base):
    __tablename__ = "runs"

    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.job_id"), index=True)
    queue: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32), index=True)
    device_udid: Mapped[str | None] = mapped_column(String(200))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    spec_json: Mapped[str] = mapped_column(Text)
    result_json: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str | None] = mapped_column(Text)
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeviceRow(Base):
    __tablename__ = "devices"

    udid: Mapped[str] = mapped_column(String(200), primary_key=True)
    info_json: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32))
    current_run: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ScheduleRow(Base):
    __tablename__ = "schedules"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    cron: Mapped[str] = mapped_column(String(100))
    matrix_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _record(row: RunRow) -> RunRecord:
    return RunRecord(
        spec=RunSpec.model_validate_json(row.spec_json),
        status=RunStatus(row.status),
        queue=row.queue,
        result=RunResult.model_validate_json(row.result_json) if row.result_json else None,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        device_udid=row.device_udid,
        detail=row.detail,
        deadline_at=_aware(row.deadline_at) if row.deadline_at else None,
    )


def _aware(value: datetime) -> datetime:
    # SQLite drops the timezone; every time we write is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def migrate(url: str) -> None:
    """Apply every pending migration to the store at ``url`` (``pomar coordinator`` does)."""
    engine = _make_engine(url)
    try:
        migrations.upgrade(engine)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"cannot migrate the job store at {_safe(url)}: {exc.__class__.__name__}",
            hint="check POMAR_STORE_URL and that the database is running",
        ) from exc
    finally:
        engine.dispose()


class SqlJobStore:
    """A :class:`~orchestrator.store.JobStore` over SQLAlchemy."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _make_engine(url)
        try:
            if url.startswith("sqlite"):
                migrations.upgrade(self.engine)
            elif migrations.current(self.engine) != migrations.head():
                raise StoreError(
                    f"the job store at {_safe(url)} is not at schema {migrations.head()}",
                    hint="start `pomar coordinator` once (it migrates the store), then retry",
                )
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise StoreError(
                f"cannot open the job store at {_safe(url)}: {exc.__class__.__name__}",
                hint="check POMAR_STORE_URL and that the database is running",
            ) from exc
        except StoreError:
            self.engine.dispose()
            raise
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        # One statement needs no transaction of its own: on PostgreSQL it runs in autocommit,
        # saving the BEGIN and COMMIT round trips (a third of a recorded run's store time).
        # Methods that write several rows, or lock one, keep ``_session.begin()``.
        single = (
            self.engine
            if url.startswith("sqlite")
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._one = sessionmaker(single, expire_on_commit=False)
        self._single = single
        """Conditional UPDATEs and DELETEs run here, on a bare connection (no ORM session)."""

    def close(self) -> None:
        self.engine.dispose()

    @_reconnecting
    def add_job(self, job: JobSpec, runs: list[tuple[RunSpec, str]]) -> None:
        now = _now()
        # Core INSERTs in one transaction (the runs as one executemany): no ORM unit of work.
        with self._guard(), self.engine.begin() as conn:
            conn.execute(
                insert(JobRow),
                [
                    {
                        "job_id": job.job_id,
                        "label": job.label,
                        "spec_json": job.model_dump_json(),
                        "created_at": now,
                    }
                ],
            )
            if runs:
                conn.execute(
                    insert(RunRow),
                    [
                        {
                            "run_id": spec.run_id,
                            "job_id": job.job_id,
                            "queue": queue,
                            "status": RunStatus.QUEUED.value,
                            "device_udid": None,
                            "attempt": spec.attempt,
                            "spec_json": spec.model_dump_json(),
                            "result_json": None,
                            "created_at": now,
                            "updated_at": now,
                            "detail": None,
                            "deadline_at": None,
                        }
                        for spec, queue in runs
                    ],
                )

    @_reconnecting
    def get_job(self, job_id: str) -> JobSpec:
        with self._guard(), self._one() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise UsageError(
                    f"no job '{job_id}' in the store",
                    hint="list jobs with `pomar status`",
                )
            return JobSpec.model_validate_json(row.spec_json)

    @_reconnecting
    def list_jobs(self, limit: int = 50) -> list[JobSpec]:
        with self._guard(), self._one() as s:
            rows = s.scalars(select(JobRow).order_by(JobRow.created_at.desc()).limit(limit))
            return [JobSpec.model_validate_json(r.spec_json) for r in rows]

    @_reconnecting
    def list_runs(self, job_id: str) -> list[RunRecord]:
        with self._guard(), self._one() as s:
            rows = s.scalars(select(RunRow).where(RunRow.job_id == job_id).order_by(RunRow.run_id))
            return [_record(r) for r in rows]

    @_reconnecting
    def get_run(self, run_id: str) -> RunRecord | None:
        with self._guard(), self._one() as s:
            row = s.get(RunRow, run_id)
            return _record(row) if row else None

    @_reconnecting
    def get_runs(self, run_ids: Collection[str]) -> list[RunRecord]:
        ids = sorted(set(run_ids))
        found: list[RunRecord] = []
        with self._guard(), self._session() as s:
            for i in range(0, len(ids), _CHUNK):
                rows = s.scalars(select(RunRow).where(RunRow.run_id.in_(ids[i : i + _CHUNK])))
                found += [_record(r) for r in rows]
        return sorted(found, key=lambda r: (r.created_at, r.run_id))

    @_reconnecting
    def unfinished_runs(self, queues: Collection[str] | None = None) -> list[RunRecord]:
        query = select(RunRow).where(RunRow.status.in_(_UNFINISHED))
        if queues is not None:
            query = query.where(RunRow.queue.in_(sorted(queues)))
        with self._guard(), self._one() as s:
            rows = s.scalars(query.order_by(RunRow.created_at, RunRow.run_id))
            return [_record(r) for r in rows]

    @_reconnecting
    def unfinished_states(self, queues: Collection[str] | None = None) -> list[RunState]:
        columns = (
            RunRow.run_id,
            RunRow.job_id,
            RunRow.status,
            RunRow.attempt,
            RunRow.queue,
            RunRow.device_udid,
            RunRow.updated_at,
        )
        query = select(*columns).where(RunRow.status.in_(_UNFINISHED))
        if queues is not None:
            query = query.where(RunRow.queue.in_(sorted(queues)))
        with self._guard(), self._single.connect() as conn:
            rows = conn.execute(query.order_by(RunRow.created_at, RunRow.run_id))
            return [
                RunState(
                    run_id=run_id,
                    job_id=job_id,
                    status=RunStatus(status),
                    attempt=attempt,
                    queue=queue,
                    device_udid=udid,
                    updated_at=_aware(updated),
                )
                for run_id, job_id, status, attempt, queue, udid, updated in rows
            ]

    @_reconnecting
    def mark_running(self, run_id: str, device_udid: str, attempt: int | None = None) -> bool:
        where = [RunRow.run_id == run_id, RunRow.status == RunStatus.QUEUED.value]
        if attempt is not None:
            where.append(RunRow.attempt == attempt)
        with self._guard(), self._single.begin() as s:
            done = s.execute(
                update(RunRow)
                .where(*where)
                .values(
                    status=RunStatus.RUNNING.value,
                    device_udid=device_udid,
                    updated_at=_now(),
                )
            )
            return bool(done.rowcount)

    @_reconnecting
    def record_result(self, result: RunResult) -> bool:
        # One conditional UPDATE: concurrent duplicate deliveries cannot both win, and a late
        # result of a superseded attempt cannot overwrite the retry.
        with self._guard(), self._single.begin() as s:
            done = s.execute(
                update(RunRow)
                .where(
                    RunRow.run_id == result.run_id,
                    RunRow.status.not_in(_FINAL),
                    RunRow.attempt == result.attempt,
                )
                .values(
                    status=result.status.value,
                    device_udid=result.device.udid,
                    result_json=result.model_dump_json(),
                    updated_at=_now(),
                )
            )
            return bool(done.rowcount)

    @_reconnecting
    def attach_localisation(self, run_id: str, localisation: Localisation) -> bool:
        with self._guard(), self._session.begin() as s:
            row = s.execute(
                select(RunRow).where(RunRow.run_id == run_id).with_for_update()
            ).scalar_one_or_none()
            if row is None or row.result_json is None:
                return False
            result = RunResult.model_validate_json(row.result_json)
            row.result_json = result.model_copy(
                update={"localisation": localisation}
            ).model_dump_json()
            return True

    @_reconnecting
    def requeue(self, spec: RunSpec, queue: str, detail: str | None = None) -> bool:
        with self._guard(), self._single.begin() as s:
            done = s.execute(
                update(RunRow)
                .where(
                    RunRow.run_id == spec.run_id,
                    RunRow.status.in_(_UNFINISHED),
                    RunRow.attempt == spec.attempt - 1,
                )
                .values(
                    status=RunStatus.QUEUED.value,
                    attempt=spec.attempt,
                    spec_json=spec.model_dump_json(),
                    queue=queue,
                    device_udid=None,
                    detail=detail,
                    updated_at=_now(),
                )
            )
            return bool(done.rowcount)

    @_reconnecting
    def set_waiting(self, run_id: str, detail: str | None, deadline_at: datetime | None) -> bool:
        with self._guard(), self._single.begin() as s:
            done = s.execute(
                update(RunRow)
                .where(RunRow.run_id == run_id, RunRow.status == RunStatus.QUEUED.value)
                .values(detail=detail, deadline_at=deadline_at)
            )
            return bool(done.rowcount)

    @_reconnecting
    def cancel_job(self, job_id: str) -> int:
        with self._guard(), self._single.begin() as s:
            done = s.execute(
                update(RunRow)
                .where(RunRow.job_id == job_id, RunRow.status.not_in(_FINAL))
                .values(status=RunStatus.CANCELLED.value, updated_at=_now())
            )
            return int(done.rowcount)

    def save_device(self, device: DeviceRecord) -> None:
        self.save_devices([device])

    @_reconnecting
    def save_devices(self, devices: Sequence[DeviceRecord]) -> None:
        if not devices:
            return
        udids = sorted({d.info.udid for d in devices})
        with self._guard(), self._session.begin() as s:
            rows: dict[str, DeviceRow] = {}
            for i in range(0, len(udids), _CHUNK):
                chunk = select(DeviceRow).where(DeviceRow.udid.in_(udids[i : i + _CHUNK]))
                rows.update((r.udid, r) for r in s.scalars(chunk))
            for device in devices:
                row = rows.get(device.info.udid)
                if row is None:
                    row = DeviceRow(udid=device.info.udid, first_seen=device.first_seen)
                    s.add(row)
                    rows[device.info.udid] = row
                row.info_json = device.info.model_dump_json()
                row.state = device.state.value
                row.current_run = device.current_run
                row.last_seen = device.last_seen

    @_reconnecting
    def list_devices(self) -> list[DeviceRecord]:
        with self._guard(), self._one() as s:
            rows = s.scalars(select(DeviceRow).order_by(DeviceRow.udid))
            return [
                DeviceRecord(
                    info=DeviceInfo.model_validate_json(r.info_json),
                    state=DeviceState(r.state),
                    current_run=r.current_run,
                    first_seen=_aware(r.first_seen),
                    last_seen=_aware(r.last_seen),
                )
                for r in rows
            ]

    @_reconnecting
    def save_schedule(self, schedule: Schedule) -> None:
        matrix = {
            "models": schedule.models,
            "pools": schedule.pools,
            "compute_units": schedule.compute_units,
            "timezone": schedule.timezone,
            "plan": schedule.plan,
        }
        with self._guard(), self._session.begin() as s:
            row = s.get(ScheduleRow, schedule.name)
            if row is None:
                row = ScheduleRow(name=schedule.name, created_at=schedule.created_at)
                s.add(row)
            row.cron = schedule.cron
            row.matrix_json = json.dumps(matrix)
            row.last_fired_at = schedule.last_fired_at

    @_reconnecting
    def list_schedules(self) -> list[Schedule]:
        with self._guard(), self._one() as s:
            rows = s.scalars(select(ScheduleRow).order_by(ScheduleRow.name))
            out = []
            for r in rows:
                matrix = json.loads(r.matrix_json)
                out.append(
                    Schedule(
                        name=r.name,
                        cron=r.cron,
                        models=tuple(matrix["models"]),
                        pools=tuple(matrix["pools"]),
                        compute_units=tuple(matrix["compute_units"]),
                        timezone=matrix.get("timezone", "UTC"),
                        plan=matrix.get("plan"),
                        created_at=_aware(r.created_at),
                        last_fired_at=_aware(r.last_fired_at) if r.last_fired_at else None,
                    )
                )
            return out

    @_reconnecting
    def delete_schedule(self, name: str) -> bool:
        with self._guard(), self._single.begin() as s:
            done = s.execute(delete(ScheduleRow).where(ScheduleRow.name == name))
            return bool(done.rowcount)

    @_reconnecting
    def mark_fired(self, name: str, at: datetime) -> None:
        with self._guard(), self._single.begin() as s:
            s.execute(
                update(ScheduleRow)
                .where(
                    ScheduleRow.name == name,
                    or_(ScheduleRow.last_fired_at.is_(None), ScheduleRow.last_fired_at < at),
                )
                .values(last_fired_at=at)
            )

    def _guard(self) -> _StoreGuard:
        return _StoreGuard(self.url)


class _StoreGuard:
    """Turns SQLAlchemy errors into ``StoreError`` at this one boundary."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if isinstance(exc, SQLAlchemyError):
            raise StoreError(
                f"job store error at {_safe(self.url)}: {exc.__class__.__name__}",
                hint="check POMAR_STORE_URL and that the database is running",
            ) from exc


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(conn: object, _record: object) -> None:
            cur = conn.cursor()  # type: ignore[attr-defined]
            # WAL lets the CLI read progress while the in-process worker writes.
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url)  # no pool_pre_ping: see _reconnecting


def _safe(url: str) -> str:
    """The URL without a password, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url
