"""The metrics endpoint's content (Prometheus text over HTTP), the JSON-lines log format, and
the missing-extra guard."""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from orchestrator.metrics import QueueCollector
from pomar_core import metrics
from pomar_core.errors import MissingExtra
from pomar_core.extras import require_extra
from pomar_core.leases import MemoryLiveness
from pomar_core.logs import JsonLineFormatter, log_context
from pomar_core.wire import DeviceInfo, DeviceKind, DeviceState, Heartbeat
from tests.conftest import need_service

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def enabled() -> Iterator[metrics.Metrics]:
    metrics.disable()
    yield metrics.enable()
    metrics.disable()


def _beat(udid: str, state: DeviceState, agent: str, age_s: float) -> Heartbeat:
    info = DeviceInfo(
        udid=udid, kind=DeviceKind.EMULATED, product_type="Emulator", marketing_name="emu"
    )
    return Heartbeat(info=info, state=state, agent=agent, at=NOW - timedelta(seconds=age_s))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_endpoint_serves_runs_durations_devices_heartbeats_cache_and_bytes(
    enabled: metrics.Metrics,
) -> None:
    liveness = MemoryLiveness()
    liveness.beat(_beat("emulated-0", DeviceState.IDLE, "a1", 2.0), ttl_s=60)
    liveness.beat(_beat("emulated-1", DeviceState.BUSY, "a1", 7.5), ttl_s=60)
    liveness.beat(_beat("emulated-2", DeviceState.BUSY, "a2", 1.0), ttl_s=60)
    port = _free_port()
    server = metrics.serve_from_settings(
        port, "127.0.0.1", [metrics.HeartbeatCollector(liveness, clock=lambda: NOW)]
    )
    try:
        metrics.record_run("passed", NOW - timedelta(seconds=12), NOW)
        metrics.record_run("passed", NOW - timedelta(seconds=3), NOW)
        metrics.record_run("oom_killed", None, None)
        metrics.record_cache(True)
        metrics.record_cache(False)
        metrics.record_bytes("read", 1000)
        metrics.record_bytes("written", 24)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            body = reply.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    lines = set(body.splitlines())
    assert 'pomar_runs_total{status="passed"} 2.0' in lines
    assert 'pomar_runs_total{status="oom_killed"} 1.0' in lines
    assert 'pomar_run_duration_seconds_count{status="passed"} 2.0' in lines
    assert 'pomar_run_duration_seconds_sum{status="passed"} 15.0' in lines
    assert 'pomar_run_duration_seconds_bucket{le="5.0",status="passed"} 1.0' in lines
    assert 'pomar_devices{state="busy"} 2.0' in lines
    assert 'pomar_devices{state="idle"} 1.0' in lines
    assert 'pomar_devices{state="lost"} 0.0' in lines
    assert 'pomar_heartbeat_age_seconds{agent="a1",device="emulated-1",state="busy"} 7.5' in lines
    assert 'pomar_artifact_cache_total{result="hit"} 1.0' in lines
    assert 'pomar_artifact_cache_total{result="miss"} 1.0' in lines
    assert 'pomar_artifact_bytes_total{direction="read"} 1000.0' in lines
    assert 'pomar_artifact_bytes_total{direction="written"} 24.0' in lines


def test_an_agent_endpoint_shows_only_its_own_devices(enabled: metrics.Metrics) -> None:
    liveness = MemoryLiveness()
    liveness.beat(_beat("emulated-0", DeviceState.IDLE, "a1", 1.0), ttl_s=60)
    liveness.beat(_beat("emulated-9", DeviceState.IDLE, "other", 1.0), ttl_s=60)
    enabled.add_collector(metrics.HeartbeatCollector(liveness, agent="a1", clock=lambda: NOW))
    body = enabled.render()
    assert 'device="emulated-0"' in body
    assert "emulated-9" not in body


def test_nothing_is_recorded_while_metrics_are_off() -> None:
    metrics.disable()
    metrics.record_run("passed", NOW, NOW)
    metrics.record_cache(True)
    assert metrics.current() is None
    assert metrics.serve_from_settings(None, "127.0.0.1", []) is None


@pytest.mark.redis
def test_queue_depth_is_read_per_queue_and_priority_from_the_broker(
    enabled: metrics.Metrics,
) -> None:
    import redis

    client = redis.Redis.from_url("redis://127.0.0.1:6379/12")
    try:
        client.ping()
    except redis.RedisError:
        need_service("Redis", "127.0.0.1:6379")
    client.flushdb()
    try:
        client.rpush("pomar.pool.iPhone15,2", "a", "b")  # step 0: priority 9
        client.rpush("pomar.pool.iPhone15,2:4", "c")  # step 4: priority 5
        enabled.add_collector(QueueCollector(client))
        body = enabled.render()
    finally:
        client.flushdb()
        client.close()
    assert 'pomar_queue_depth{priority="9",queue="pomar.pool.iPhone15,2"} 2.0' in body
    assert 'pomar_queue_depth{priority="5",queue="pomar.pool.iPhone15,2"} 1.0' in body


def test_json_log_lines_carry_the_job_run_and_device_ids() -> None:
    formatter = JsonLineFormatter()
    record = logging.LogRecord("agent.x", logging.INFO, __file__, 1, "pushed %d bytes", (5,), None)
    with log_context(job_id="job-1", run_id="job-1-r0", device_id="emulated-0"):
        inside = json.loads(formatter.format(record))
    outside = json.loads(formatter.format(record))
    assert inside["message"] == "pushed 5 bytes"
    assert inside["level"] == "info"
    assert (inside["job_id"], inside["run_id"], inside["device_id"]) == (
        "job-1",
        "job-1-r0",
        "emulated-0",
    )
    assert "run_id" not in outside


def test_a_missing_optional_dependency_is_bad_usage_naming_the_extra() -> None:
    with pytest.raises(MissingExtra) as caught:
        require_extra("ops", "prometheus_client", "pomar_no_such_module")
    assert caught.value.exit_code == 2
    assert caught.value.one_line() == (
        "this needs the 'ops' extra (pomar_no_such_module is not installed) "
        "— pip install 'pomar[ops]'"
    )
