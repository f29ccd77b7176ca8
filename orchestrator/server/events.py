"""Server-sent events of one job: the store is polled (it is the source of truth, shared with
the coordinator), and an event goes out only when a run changed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from orchestrator.store import JobStore

KEEPALIVE_S = 15.0


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def job_events(
    store: JobStore, job_id: str, poll_s: float, max_s: float = 6 * 3600.0
) -> Iterator[str]:
    """``runs`` events (each run's id, status, attempt, device and detail) on every change,
    a comment every 15 s of silence so proxies keep the connection, then ``done``.

    A sync generator: Starlette iterates it on its thread pool, so the polling sleeps never
    block the event loop."""
    last: object = None
    quiet_since = time.monotonic()
    deadline = time.monotonic() + max_s
    while time.monotonic() < deadline:
        runs = store.list_runs(job_id)
        snapshot = [
            {
                "run_id": r.run_id,
                "status": r.status.value,
                "attempt": r.attempt,
                "device": r.device_udid,
                "detail": r.detail,
            }
            for r in runs
        ]
        if snapshot != last:
            last = snapshot
            quiet_since = time.monotonic()
            yield _event("runs", {"job_id": job_id, "runs": snapshot})
        elif time.monotonic() - quiet_since > KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        if runs and all(r.status.finished for r in runs):
            yield _event("done", {"job_id": job_id})
            return
        time.sleep(poll_s)
    yield _event("timeout", {"job_id": job_id})
