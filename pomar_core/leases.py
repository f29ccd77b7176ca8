"""Device heartbeats, device leases and run flags, kept in Redis with time-to-live keys.

Redis is already the broker; it also holds what is only true while someone keeps saying it:

- ``pomar:hb:<udid>``   a device's heartbeat (what it is, idle/busy, current run), expiring
                        after ``ttl_s``: a device whose key is gone is lost;
- ``pomar:lease:<udid>`` which agent owns the device, so two agents never drive one device;
- ``pomar:run:<run_id>`` the attempt last handed to the broker, or ``done``/``cancelled``: a
                        missing key after a Redis restart tells the reconciler to re-enqueue,
                        and an agent skips a message whose attempt is no longer current.

The store stays the source of truth; losing all of this costs a re-enqueue, never a run.
:class:`MemoryLiveness` is the same contract in process, for tests and embedded use.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from pomar_core.errors import BrokerError
from pomar_core.wire import Heartbeat

RUN_DONE = "done"
RUN_CANCELLED = "cancelled"
_RUN_FLAG_TTL_S = 7 * 24 * 3600


class Liveness(Protocol):
    def beat(self, heartbeat: Heartbeat, ttl_s: float) -> None:
        """Say the device is alive for ``ttl_s`` more seconds."""
        ...

    def forget(self, udid: str) -> None:
        """The device left on purpose: drop its heartbeat now."""
        ...

    def live(self) -> dict[str, Heartbeat]:
        """Every device with an unexpired heartbeat, by udid."""
        ...

    def acquire(self, udid: str, owner: str, ttl_s: float) -> bool:
        """Take or renew the device's lease; False if another owner holds it."""
        ...

    def release(self, udid: str, owner: str) -> None: ...

    def set_run(self, run_id: str, value: str) -> None:
        """Flag a run: the attempt in the broker (``"2"``), ``done`` or ``cancelled``."""
        ...

    def set_runs(self, flags: Mapping[str, str]) -> None:
        """``set_run`` for many runs in one round trip (a submitted job's)."""
        ...

    def run_flag(self, run_id: str) -> str | None: ...

    def run_flags(self, run_ids: Sequence[str]) -> dict[str, str]:
        """The flags of those of ``run_ids`` that have one (one round trip per thousand)."""
        ...

    def check_in(self, udid: str, owner: str, ttl_s: float, run_id: str) -> tuple[bool, str | None]:
        """``acquire`` and ``run_flag`` in one round trip: what an agent asks before a run."""
        ...

    def renew(self, heartbeat: Heartbeat, owner: str, ttl_s: float) -> str | None:
        """Renew the lease, ``beat``, and return the flag of the heartbeat's run (None without
        one), in one round trip: a served device's heartbeat."""
        ...


_FLAGS_PER_MGET = 1000
_SCAN_COUNT = 5000
"""Keys a SCAN step looks at: a farm's Redis holds a few keys per device and per run."""


class RedisLiveness:
    """:class:`Liveness` on Redis (the broker's own server, or another)."""

    _RENEW = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('pexpire', KEYS[1], ARGV[2]) "
        "elseif redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 "
        "else return 0 end"
    )
    _RELEASE = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) "
        "else return 0 end"
    )

    def __init__(self, url: str) -> None:
        import redis

        self._errors: tuple[type[BaseException], ...] = (redis.RedisError,)
        # Short timeouts: a dead Redis must not freeze heartbeats or the reconciler.
        self._redis: Any = redis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=10
        )
        self.url = url
        self._parsed: dict[bytes, Heartbeat] = {}
        """The beats the last ``live()`` read, by their JSON."""

    def beat(self, heartbeat: Heartbeat, ttl_s: float) -> None:
        self._call(
            lambda r: r.set(
                f"pomar:hb:{heartbeat.info.udid}", heartbeat.model_dump_json(), px=_ms(ttl_s)
            )
        )

    def forget(self, udid: str) -> None:
        self._call(lambda r: r.delete(f"pomar:hb:{udid}"))

    def live(self) -> dict[str, Heartbeat]:
        def read(r: Any) -> list[bytes | None]:
            keys = list(r.scan_iter(match="pomar:hb:*", count=_SCAN_COUNT))
            return list(r.mget(keys)) if keys else []

        values: list[bytes | None] = self._call(read)
        # A heartbeat's JSON changes only when its device beats (every few seconds), so most
        # of a thousand-phone farm's beats were parsed by the previous call: reuse those.
        # Heartbeats are frozen; the memo holds only the beats live at the last call.
        known = self._parsed
        parsed = {v: known.get(v) or Heartbeat.model_validate_json(v) for v in values if v}
        self._parsed = parsed
        return {b.info.udid: b for b in parsed.values()}

    def acquire(self, udid: str, owner: str, ttl_s: float) -> bool:
        return bool(
            self._call(lambda r: r.eval(self._RENEW, 1, f"pomar:lease:{udid}", owner, _ms(ttl_s)))
        )

    def release(self, udid: str, owner: str) -> None:
        self._call(lambda r: r.eval(self._RELEASE, 1, f"pomar:lease:{udid}", owner))

    def set_run(self, run_id: str, value: str) -> None:
        self._call(lambda r: r.set(f"pomar:run:{run_id}", value, ex=_RUN_FLAG_TTL_S))

    def set_runs(self, flags: Mapping[str, str]) -> None:
        def send(r: Any) -> None:
            pipe = r.pipeline(transaction=False)
            for run_id, value in flags.items():
                pipe.set(f"pomar:run:{run_id}", value, ex=_RUN_FLAG_TTL_S)
            pipe.execute()

        if flags:
            self._call(send)

    def run_flag(self, run_id: str) -> str | None:
        value = self._call(lambda r: r.get(f"pomar:run:{run_id}"))
        return None if value is None else bytes(value).decode()

    def run_flags(self, run_ids: Sequence[str]) -> dict[str, str]:
        ids = list(run_ids)
        flags: dict[str, str] = {}
        for i in range(0, len(ids), _FLAGS_PER_MGET):
            chunk = ids[i : i + _FLAGS_PER_MGET]
            values = self._call(lambda r, c=chunk: r.mget([f"pomar:run:{x}" for x in c]))
            pairs = zip(chunk, values, strict=True)
            flags.update((k, bytes(v).decode()) for k, v in pairs if v is not None)
        return flags

    def check_in(self, udid: str, owner: str, ttl_s: float, run_id: str) -> tuple[bool, str | None]:
        def ask(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            pipe.eval(self._RENEW, 1, f"pomar:lease:{udid}", owner, _ms(ttl_s))
            pipe.get(f"pomar:run:{run_id}")
            return list(pipe.execute())

        leased, flag = self._call(ask)
        return bool(leased), None if flag is None else bytes(flag).decode()

    def renew(self, heartbeat: Heartbeat, owner: str, ttl_s: float) -> str | None:
        udid, run_id = heartbeat.info.udid, heartbeat.run_id

        def send(r: Any) -> list[Any]:
            pipe = r.pipeline(transaction=False)
            pipe.eval(self._RENEW, 1, f"pomar:lease:{udid}", owner, _ms(ttl_s))
            pipe.set(f"pomar:hb:{udid}", heartbeat.model_dump_json(), px=_ms(ttl_s))
            if run_id is not None:
                pipe.get(f"pomar:run:{run_id}")
            return list(pipe.execute())

        replies = self._call(send)
        flag = replies[2] if run_id is not None else None
        return None if flag is None else bytes(flag).decode()

    def close(self) -> None:
        self._redis.close()

    def _call(self, op: Any) -> Any:
        try:
            return op(self._redis)
        except self._errors as exc:
            raise BrokerError(
                f"Redis at {_safe(self.url)} is unavailable: {exc.__class__.__name__}",
                hint="check POMAR_BROKER_URL and that Redis is running",
            ) from exc


class MemoryLiveness:
    """:class:`Liveness` in this process, with the same expiry semantics."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._beats: dict[str, tuple[Heartbeat, float]] = {}
        self._leases: dict[str, tuple[str, float]] = {}
        self._runs: dict[str, str] = {}

    def beat(self, heartbeat: Heartbeat, ttl_s: float) -> None:
        with self._lock:
            self._beats[heartbeat.info.udid] = (heartbeat, self._clock() + ttl_s)

    def forget(self, udid: str) -> None:
        with self._lock:
            self._beats.pop(udid, None)

    def live(self) -> dict[str, Heartbeat]:
        now = self._clock()
        with self._lock:
            return {u: hb for u, (hb, until) in self._beats.items() if until > now}

    def acquire(self, udid: str, owner: str, ttl_s: float) -> bool:
        now = self._clock()
        with self._lock:
            held = self._leases.get(udid)
            if held is not None and held[0] != owner and held[1] > now:
                return False
            self._leases[udid] = (owner, now + ttl_s)
            return True

    def release(self, udid: str, owner: str) -> None:
        with self._lock:
            if self._leases.get(udid, ("", 0.0))[0] == owner:
                del self._leases[udid]

    def set_run(self, run_id: str, value: str) -> None:
        with self._lock:
            self._runs[run_id] = value

    def set_runs(self, flags: Mapping[str, str]) -> None:
        with self._lock:
            self._runs.update(flags)

    def run_flag(self, run_id: str) -> str | None:
        with self._lock:
            return self._runs.get(run_id)

    def run_flags(self, run_ids: Sequence[str]) -> dict[str, str]:
        with self._lock:
            return {r: self._runs[r] for r in run_ids if r in self._runs}

    def check_in(self, udid: str, owner: str, ttl_s: float, run_id: str) -> tuple[bool, str | None]:
        return self.acquire(udid, owner, ttl_s), self.run_flag(run_id)

    def renew(self, heartbeat: Heartbeat, owner: str, ttl_s: float) -> str | None:
        self.acquire(heartbeat.info.udid, owner, ttl_s)
        self.beat(heartbeat, ttl_s)
        return None if heartbeat.run_id is None else self.run_flag(heartbeat.run_id)

    def clear_runs(self) -> None:
        """Forget every run flag, as a restarted Redis would."""
        with self._lock:
            self._runs.clear()


def now_utc() -> datetime:
    return datetime.now(UTC)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _safe(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.split('@', 1)[1]}"
    return url
