"""``pomar farm``: the farm at a glance — devices by pool and state, queue depth per queue and
priority, the runs executing now, sweeps in progress, and the last sweep's summary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from orchestrator.store import JobStore
from orchestrator.sweep_review import SweepSummary
from orchestrator.sweep_watch import SweepState, last_summary
from orchestrator.sweeps import sweep_of
from pomar_core.wire import Heartbeat, RunStatus, device_pools

RECENT_JOBS = 200


class View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeviceLine(View):
    udid: str
    product: str
    os_version: str | None
    state: str
    """idle, busy, quarantined (live) or lost (seen before, silent now)."""
    run_id: str | None = None
    agent: str | None = None


class QueueDepth(View):
    queue: str
    priority: int
    """Pomar's priority (9 most urgent)."""
    depth: int


class RunningRun(View):
    run_id: str
    job_id: str
    device: str | None
    elapsed_s: float | None
    timeout_s: float
    sweep: str | None


class SweepProgress(View):
    sweep_id: str
    runs: int
    finished: int


class FarmView(View):
    pools: dict[str, dict[str, list[str]]]
    """Pool → state → device udids."""
    devices: tuple[DeviceLine, ...]
    queues: tuple[QueueDepth, ...]
    running: tuple[RunningRun, ...]
    sweeps: tuple[SweepProgress, ...]
    last_sweep: SweepSummary | None


def queue_depths(redis: Any) -> list[QueueDepth]:
    """Messages waiting per queue and priority. Kombu's Redis transport keeps priority step
    ``s`` of queue ``q`` in the list ``q`` (step 0) or ``q:s`` (``make_app`` sets the steps and
    the separator); step ``s`` carries Pomar priority ``9 - s``."""
    out = []
    for key in redis.scan_iter(match="pomar.*", count=1000):
        name = key.decode() if isinstance(key, bytes) else str(key)
        queue, _, step = name.partition(":")
        if (step and not step.isdigit()) or redis.type(key) not in (b"list", "list"):
            continue
        depth = int(redis.llen(key))
        if depth:
            out.append(QueueDepth(queue=queue, priority=9 - int(step or 0), depth=depth))
    return sorted(out, key=lambda q: (q.queue, -q.priority))


def farm_view(
    store: JobStore, live: dict[str, Heartbeat], redis: Any, state: SweepState
) -> FarmView:
    devices: dict[str, DeviceLine] = {}
    pools: dict[str, dict[str, list[str]]] = {}
    infos = {r.info.udid: r.info for r in store.list_devices()}
    infos.update({u: hb.info for u, hb in live.items()})
    for udid, info in sorted(infos.items()):
        beat = live.get(udid)
        line = DeviceLine(
            udid=udid,
            product=info.product_type,
            os_version=info.os_version,
            state=beat.state.value if beat else "lost",
            run_id=beat.run_id if beat else None,
            agent=beat.agent if beat else None,
        )
        devices[udid] = line
        for pool in device_pools(info):
            pools.setdefault(pool, {}).setdefault(line.state, []).append(udid)
    now = datetime.now(UTC)
    running = []
    jobs = {j.job_id: j for j in store.list_jobs(RECENT_JOBS)}
    for record in store.unfinished_runs():
        if record.status is not RunStatus.RUNNING:
            continue
        job = jobs.get(record.spec.job_id)
        running.append(
            RunningRun(
                run_id=record.run_id,
                job_id=record.spec.job_id,
                device=record.device_udid,
                elapsed_s=(now - record.updated_at).total_seconds(),
                timeout_s=record.spec.config.timeout_s,
                sweep=sweep_of(job) if job else None,
            )
        )
    return FarmView(
        pools=pools,
        devices=tuple(devices.values()),
        queues=tuple(queue_depths(redis)),
        running=tuple(running),
        sweeps=tuple(_sweeps(store, list(jobs.values()))),
        last_sweep=_last(state),
    )


def _sweeps(store: JobStore, jobs: list[Any]) -> list[SweepProgress]:
    counts: dict[str, list[int]] = {}
    for job in jobs:
        sweep = sweep_of(job)
        if sweep is None:
            continue
        runs = store.list_runs(job.job_id)
        total, done = counts.setdefault(sweep, [0, 0])
        counts[sweep] = [total + len(runs), done + sum(r.status.finished for r in runs)]
    return [
        SweepProgress(sweep_id=s, runs=t, finished=d)
        for s, (t, d) in sorted(counts.items())
        if d < t
    ]


def _last(state: SweepState) -> SweepSummary | None:
    found = state.get("last")
    return None if found is None else SweepSummary.model_validate_json(found)


__all__ = ["FarmView", "farm_view", "last_summary", "queue_depths"]
