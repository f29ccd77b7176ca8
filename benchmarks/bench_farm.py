"""Throughput and orchestration overhead of the farm loop on a loopback Redis.

Submit → Redis → agent worker → device → result → coordinator records it, with N no-op
devices (they return at once, or after a given sleep for the makespan case). Everything runs
in this process except Redis (our own redis-server on a free port, stopped by pid), so the
numbers are the loop's cost, not process start-up — and every agent thread and the
coordinator share one interpreter lock, so throughput here cannot grow with N the way
separate agent processes on separate hosts would. Reported, for N = 1, 4, 16:

- runs per second end to end, and the same no-op executor called directly (the baseline: what
  the loop would cost if orchestration were free), as a ratio;
- per-run orchestration overhead = (recorded − submitted) − device time, p50 and p90, for one
  run at a time (the loop's own cost) and for all runs submitted at once (with queueing);
- the makespan of a mixed 200-run matrix against its lower bound (device time / devices).

    python benchmarks/bench_farm.py [--devices 1 4 16] [--runs 200]
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from agent.device import Outcome, RunOutcome, RunRequest
from agent.discovery import DeviceSource
from agent.executor import DeviceRunExecutor
from agent.serve import Agent, AgentConfig
from orchestrator.farm import Farm, connect, serve_coordinator
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifacts import save_arrays
from pomar_core.settings import Settings
from pomar_core.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    DeviceSelector,
    DType,
    InputOrigin,
    InputSet,
    JobSpec,
    ModelFormat,
    ModelRef,
    RunConfig,
    SourceKind,
    TensorSpec,
)


class NoopDevice:
    """Completes every run after ``delay_s`` (0: at once) without touching the model."""

    def __init__(self, index: int, delays: dict[str, float]) -> None:
        self._info = DeviceInfo(
            udid=f"bench-{index}",
            kind=DeviceKind.EMULATED,
            product_type="Bench",
            marketing_name="no-op",
            pools=("bench",),
            compute_units=tuple(ComputeUnit),
        )
        self.delays = delays

    @property
    def info(self) -> DeviceInfo:
        return self._info

    def check_ready(self) -> None:
        return None

    def run(self, request: RunRequest) -> RunOutcome:
        time.sleep(self.delays.get(request.run_id.rsplit("-", 1)[0], 0.0))
        return RunOutcome(Outcome.COMPLETED)


def _job(artifacts: LocalArtifactStore, units: tuple[ComputeUnit, ...]) -> JobSpec:
    model_sha = artifacts.put_bytes(b"no-op model")
    inputs_sha = save_arrays(artifacts, {"x": np.zeros((1,), np.float32)})
    spec = TensorSpec(name="x", dtype=DType.FLOAT32, shape=(1,))
    return JobSpec(
        job_id=f"bench-{uuid.uuid4().hex[:8]}",
        model=ModelRef(
            sha256=model_sha,
            format=ModelFormat.MLMODEL,
            name="noop",
            source_kind=SourceKind.MLMODEL,
            specification_version=7,
            model_type="neuralNetwork",
            inputs=(spec,),
            outputs=(),
        ),
        inputs=InputSet(sha256=inputs_sha, origin=InputOrigin.GENERATED, tensors=(spec,)),
        target=DeviceSelector(pools=("bench",)),
        config=RunConfig(compute_units=units),
        submitted_at=datetime.now(UTC),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_all(farm: Farm, job_ids: list[str], timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(r.status.finished for j in job_ids for r in farm.store.list_runs(j)):
            return
        time.sleep(0.05)
    raise SystemExit("runs did not finish")


def measure(n: int, runs: int, mixed: bool, root: Path, broker: str) -> dict[str, float]:
    settings = Settings(data_dir=root / "data", broker_url=broker, artifacts_url=str(root / "a"))
    farm = connect(settings, wait_s=600)
    delays: dict[str, float] = {}
    devices = [NoopDevice(i, delays) for i in range(n)]
    source: DeviceSource = lambda: devices  # noqa: E731
    config = AgentConfig(broker_url=broker, name=f"bench{n}", heartbeat_s=1.0, ttl_s=5.0)
    agent = Agent(config, [source], farm.liveness, farm.artifacts, root / "cache")  # type: ignore[arg-type]
    stop = threading.Event()
    threads = [
        threading.Thread(target=agent.run, args=(stop,), daemon=True),
        threading.Thread(
            target=serve_coordinator,
            args=(farm, stop),
            kwargs={"cache_dir": root / "cache", "tick_s": 0.5},
            daemon=True,
        ),
    ]
    for t in threads:
        t.start()
    while len(farm.liveness.live()) < n:
        time.sleep(0.1)
    time.sleep(1.0)  # let every worker reach its consumer loop

    # Latency of one run at a time: the loop's own cost, no queueing behind other runs.
    lone = []
    for _ in range(20):
        job = _job(farm.artifacts, (ComputeUnit.CPU,))  # type: ignore[arg-type]
        farm.coordinator.submit(job)
        _wait_all(farm, [job.job_id])
        (r,) = farm.store.list_runs(job.job_id)
        assert r.result is not None
        assert r.result.started_at is not None
        assert r.result.finished_at is not None
        device = (r.result.finished_at - r.result.started_at).total_seconds()
        lone.append((r.updated_at - r.created_at).total_seconds() - device)

    units = tuple(ComputeUnit)
    rng = random.Random(0)
    jobs = []
    t0 = time.perf_counter()
    for _ in range(runs // len(units)):
        job = _job(farm.artifacts, units)  # type: ignore[arg-type]
        if mixed:
            delays[job.job_id] = rng.choice((0.005, 0.02, 0.05))
        farm.coordinator.submit(job)
        jobs.append(job.job_id)
    _wait_all(farm, jobs)
    wall = time.perf_counter() - t0
    records = [r for j in jobs for r in farm.store.list_runs(j)]
    overheads, device_s = [], 0.0
    for r in records:
        assert r.result is not None
        assert r.result.started_at is not None
        assert r.result.finished_at is not None
        device = (r.result.finished_at - r.result.started_at).total_seconds()
        device_s += device
        overheads.append((r.updated_at - r.created_at).total_seconds() - device)
    stop.set()
    for t in threads:
        t.join(30)
    q = statistics.quantiles(lone, n=10)
    return {
        "runs_per_s": len(records) / wall,
        "overhead_p50_ms": statistics.median(lone) * 1000,
        "overhead_p90_ms": q[8] * 1000,
        "loaded_p50_ms": statistics.median(overheads) * 1000,
        "makespan_s": wall,
        "lower_bound_s": device_s / n,
    }


def direct_baseline(root: Path, runs: int) -> float:
    """Runs per second of the same executor and device called in a loop, no farm."""
    artifacts = LocalArtifactStore(root / "direct")
    job = _job(artifacts, (ComputeUnit.CPU,))
    executor = DeviceRunExecutor(NoopDevice(0, {}), artifacts, root / "direct-cache")
    from orchestrator.routing import plan_runs

    (spec, _), *_ = plan_runs(job, [])
    t0 = time.perf_counter()
    for _ in range(runs):
        executor.execute(spec)
    return runs / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pomar-bench-farm-"))
    port = _free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        baseline = direct_baseline(root, args.runs)
        print(f"direct executor (no farm): {baseline:.0f} runs/s")
        for n in args.devices:
            db = f"redis://127.0.0.1:{port}/{n % 16}"
            fast = measure(n, args.runs, False, root / f"fast{n}", db)
            mixed = measure(n, args.runs, True, root / f"mixed{n}", db)
            print(
                f"N={n:>2}: {fast['runs_per_s']:6.1f} runs/s "
                f"({fast['runs_per_s'] / baseline:.3f} of direct); one run alone: overhead p50 "
                f"{fast['overhead_p50_ms']:.0f} ms p90 {fast['overhead_p90_ms']:.0f} ms; "
                f"{args.runs} at once: p50 {fast['loaded_p50_ms']:.0f} ms; mixed "
                f"makespan {mixed['makespan_s']:.1f} s = "
                f"{mixed['makespan_s'] / mixed['lower_bound_s']:.1f}x its lower bound"
            )
    finally:
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
