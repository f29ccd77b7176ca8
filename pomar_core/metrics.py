"""Prometheus metrics of a coordinator or an agent process (``POMAR_METRICS_PORT``).

The instrumented code calls the ``record_*`` functions below; they do nothing until
:func:`enable` has built this process's :class:`Metrics` (which needs ``prometheus-client``,
the ``ops`` extra), so a process without metrics pays nothing. State that already lives
somewhere (heartbeats in Redis, queue depths in the broker) is read at scrape time by a
collector instead of being counted twice.

Metric names: ``pomar_runs_total{status}``, ``pomar_run_duration_seconds{status}``,
``pomar_queue_depth{queue,priority}``, ``pomar_devices{state}``,
``pomar_heartbeat_age_seconds{device,agent,state}``, ``pomar_artifact_cache_total{result}``
(model cache hit/miss) and ``pomar_artifact_bytes_total{direction}`` (read/written).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from pomar_core.extras import require_extra
from pomar_core.leases import Liveness
from pomar_core.wire import DeviceState

DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


class Metrics:
    """This process's registry and the counters code records into."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        self.runs = Counter(
            "pomar_runs", "Runs recorded, by final status", ["status"], registry=self.registry
        )
        self.run_duration = Histogram(
            "pomar_run_duration_seconds",
            "Wall time of a recorded run on its device, by status",
            ["status"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.cache = Counter(
            "pomar_artifact_cache",
            "Model look-ups in the agent's local model cache: hit (no transfer) or miss",
            ["result"],
            registry=self.registry,
        )
        self.bytes = Counter(
            "pomar_artifact_bytes",
            "Bytes read from and written to the artifact store",
            ["direction"],
            registry=self.registry,
        )

    def add_collector(self, collector: Any) -> None:
        self.registry.register(collector)

    def render(self) -> str:
        from prometheus_client import generate_latest

        return generate_latest(self.registry).decode()

    def serve(self, port: int, address: str = "127.0.0.1") -> Any:
        """Serve ``/metrics`` on a daemon thread; returns the server (``shutdown()`` and
        ``server_close()`` stop it)."""
        from prometheus_client import start_http_server

        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        return server


_current: Metrics | None = None


def enable() -> Metrics:
    """Build this process's metrics (once); ``MissingExtra`` naming ``ops`` without the library."""
    global _current
    require_extra("ops", "prometheus_client")
    if _current is None:
        _current = Metrics()
    return _current


def disable() -> None:
    """Forget this process's metrics (tests)."""
    global _current
    _current = None


def current() -> Metrics | None:
    return _current


def record_run(status: str, started: datetime | None, finished: datetime | None) -> None:
    m = _current
    if m is None:
        return
    m.runs.labels(status=status).inc()
    if started is not None and finished is not None:
        m.run_duration.labels(status=status).observe(max(0.0, (finished - started).total_seconds()))


def record_cache(hit: bool) -> None:
    if _current is not None:
        _current.cache.labels(result="hit" if hit else "miss").inc()


def record_bytes(direction: str, count: int) -> None:
    if _current is not None and count:
        _current.bytes.labels(direction=direction).inc(count)


class HeartbeatCollector:
    """Device states and heartbeat ages, read from the liveness store at each scrape; only
    ``agent``'s devices when given (an agent's own endpoint)."""

    def __init__(
        self,
        liveness: Liveness,
        agent: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.liveness = liveness
        self.agent = agent
        self.clock = clock

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        beats = [
            b for b in self.liveness.live().values() if self.agent is None or b.agent == self.agent
        ]
        states = GaugeMetricFamily(
            "pomar_devices", "Devices heartbeating, by state", labels=["state"]
        )
        for state in DeviceState:
            states.add_metric([state.value], sum(1 for b in beats if b.state is state))
        ages = GaugeMetricFamily(
            "pomar_heartbeat_age_seconds",
            "Seconds since each device's last heartbeat",
            labels=["device", "agent", "state"],
        )
        now = self.clock()
        for b in beats:
            age = max(0.0, (now - b.at).total_seconds())
            ages.add_metric([b.info.udid, b.agent, b.state.value], age)
        yield from (states, ages)


def gauge_family(
    name: str, doc: str, labels: list[str], rows: Iterable[tuple[list[str], float]]
) -> Any:
    from prometheus_client.core import GaugeMetricFamily

    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family


def serve_from_settings(port: int | None, address: str, collectors: Iterable[Any]) -> Any:
    """At an entry point: when ``port`` is set, enable metrics, add ``collectors`` and serve
    them; None (and nothing enabled) when it is not."""
    if port is None:
        return None
    m = enable()
    for collector in collectors:
        m.add_collector(collector)
    return m.serve(port, address)
