"""A nightly sweep on a simulated farm: utilisation, recording scale-out, on-demand latency,
and Pomar's per-run overhead against a raw Celery+Redis round trip — all in one run.

Real Redis (our own redis-server on a free port, stopped by pid) and a PostgreSQL database of
our own (``pomar_bench_nightly``, dropped at the end). The phones are no-op devices with a set
run time, served by :class:`agent.serve.Agent` exactly as real ones are: one Celery worker
per phone, each in a *thread* of this process (processes would need ~60 MB each). Every
phone, the coordinator and the interpreter lock share this machine's cores, so the numbers are
a floor for a farm whose agents run on their own hosts. Printed:

1. raw Celery+Redis round trip (send a task, a worker thread runs it and sends a reply task,
   another worker thread receives it) and Pomar's per-run overhead for a lone run (submitted →
   recorded, minus device time), with their ratio (target ≤ 5×);
2. the sweep: R runs over N phones in P pools; utilisation = device time / (N × makespan)
   against the lower bound ceil(R / N) × run time (target ≥ 95%); and the latency-to-start of
   on-demand runs submitted while the sweep runs (target ≤ one run's duration);
3. recording throughput of 1, 2, 4 coordinator *processes* consuming one results queue into
   one PostgreSQL store, every result delivered twice: each must be recorded exactly once.

    python benchmarks/bench_nightly.py [--phones 200] [--pools 20] [--runs 2000] [--run-s 1]

Not part of CI. With the defaults it takes a few minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.device import Outcome, RunOutcome, RunRequest  # noqa: E402
from agent.discovery import DeviceSource  # noqa: E402
from agent.serve import Agent, AgentConfig  # noqa: E402
from benchmarks.bench_farm import _free_port as free_port  # noqa: E402
from benchmarks.bench_farm import _job as farm_job  # noqa: E402
from orchestrator.farm import Farm, connect, serve_coordinator  # noqa: E402
from orchestrator.routing import plan_runs  # noqa: E402
from orchestrator.stores import migrate_store  # noqa: E402
from pomar_core.artifact_stores.local import LocalArtifactStore  # noqa: E402
from pomar_core.artifacts import ArtifactStore  # noqa: E402
from pomar_core.celery_app import (  # noqa: E402
    RESULTS_QUEUE,
    WorkerThread,
    make_app,
    roles,
    send_result,
)
from pomar_core.settings import Settings  # noqa: E402
from pomar_core.wire import (  # noqa: E402
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    DeviceSelector,
    JobSpec,
    RunConfig,
    RunResult,
    RunStatus,
)

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_DB = "pomar_bench_nightly"
PG_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_DB}"
NOOP = DeviceInfo(udid="-", kind=DeviceKind.EMULATED, product_type="Bench", marketing_name="no-op")


class Phone:
    """A no-op device: every run takes ``run_s`` of sleep (no CPU), on-demand runs too."""

    def __init__(self, index: int, pool: str, run_s: float) -> None:
        self._info = DeviceInfo(
            udid=f"phone-{index:04d}",
            kind=DeviceKind.EMULATED,
            product_type="Bench",
            marketing_name="no-op phone",
            pools=(pool,),
            compute_units=(ComputeUnit.CPU,),
        )
        self.run_s = run_s

    @property
    def info(self) -> DeviceInfo:
        return self._info

    def check_ready(self) -> None:
        return None

    def run(self, request: RunRequest) -> RunOutcome:
        time.sleep(self.run_s)
        return RunOutcome(Outcome.COMPLETED)


def noop_job(artifacts: ArtifactStore, target: DeviceSelector, **update: Any) -> JobSpec:
    """bench_farm's no-op job, one iteration on the CPU, aimed at ``target``."""
    job = farm_job(artifacts, (ComputeUnit.CPU,))  # type: ignore[arg-type]
    config = RunConfig(compute_units=(ComputeUnit.CPU,), warmup=0, iterations=1)
    return job.model_copy(update={"target": target, "config": config, **update})


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qtA", "-c", sql],
        check=True,
        capture_output=True,
    )


def fresh_database() -> None:
    psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    psql(f"CREATE DATABASE {PG_DB}")
    migrate_store(PG_URL)


@dataclass
class SimFarm:
    farm: Farm
    stop: threading.Event
    threads: list[threading.Thread]
    start_s: float

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(120)
        self.farm.liveness.close()


def start_farm(root: Path, broker: str, phones: int, pools: int, run_s: float) -> SimFarm:
    settings = Settings(
        data_dir=root / "data", broker_url=broker, store_url=PG_URL, artifacts_url=str(root / "a")
    )
    farm = connect(settings, wait_s=3600)
    devices = [Phone(i, f"pool-{i % pools:03d}", run_s) for i in range(phones)]
    source: DeviceSource = lambda: devices  # noqa: E731
    config = AgentConfig(
        broker_url=broker, name="sim", heartbeat_s=5.0, ttl_s=60.0, discover_s=3600.0
    )
    agent = Agent(config, [source], farm.liveness, farm.artifacts, root / "cache")
    stop = threading.Event()
    t0 = time.perf_counter()
    threads = [
        threading.Thread(target=agent.run, args=(stop,), daemon=True, name="agent"),
        threading.Thread(
            target=serve_coordinator,
            args=(farm, stop),
            kwargs={"cache_dir": root / "cache", "tick_s": 1.0, "sweep_tick_s": 3600.0},
            daemon=True,
            name="coordinator",
        ),
    ]
    for t in threads:
        t.start()
    while len(farm.liveness.live()) < phones:
        time.sleep(0.2)
    started = time.perf_counter() - t0
    time.sleep(2.0)  # every worker reaches its consumer loop
    return SimFarm(farm, stop, threads, started)


def wait_finished(farm: Farm, job_ids: list[str], timeout_s: float = 1800) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(job_ids)
    while pending and time.monotonic() < deadline:
        pending = [
            j for j in pending if not all(r.status.finished for r in farm.store.list_runs(j))
        ]
        time.sleep(0.2)
    if pending:
        raise SystemExit(f"{len(pending)} job(s) did not finish")


# -- 1. raw round trip and Pomar's per-run overhead --------------------------------------------


def raw_round_trip(broker: str, n: int = 200) -> list[float]:
    """Seconds from send to reply received: task → worker → reply task → second worker."""
    ping, pong = make_app(broker, name="bench-ping"), make_app(broker, name="bench-pong")
    got: dict[str, float] = {}
    done = threading.Event()

    @ping.task(name="bench.ping", shared=False)  # type: ignore[untyped-decorator]
    def on_ping(token: str) -> None:
        ping.send_task("bench.pong", args=[token], queue="bench.pong")

    @pong.task(name="bench.pong", shared=False)  # type: ignore[untyped-decorator]
    def on_pong(token: str) -> None:
        got[token] = time.perf_counter()
        done.set()

    workers = [
        WorkerThread(ping, ["bench.ping"], hostname="ping@bench"),
        WorkerThread(pong, ["bench.pong"], hostname="pong@bench"),
    ]
    for w in workers:
        w.start()
    time.sleep(1.0)
    trips = []
    for i in range(n):
        token = f"t{i}"
        done.clear()
        t0 = time.perf_counter()
        ping.send_task("bench.ping", args=[token], queue="bench.ping")
        done.wait(10)
        trips.append(got[token] - t0)
    for w in workers:
        w.stop()
    return trips


def lone_overheads(sim: SimFarm, run_s: float, n: int = 30) -> list[float]:
    """Submitted → recorded minus device time, one run at a time on an idle farm."""
    out = []
    for _ in range(n):
        job = noop_job(sim.farm.artifacts, DeviceSelector(pools=("pool-000",)))
        t0 = time.perf_counter()
        sim.farm.coordinator.submit(job)
        while not all(r.status.finished for r in sim.farm.store.list_runs(job.job_id)):
            time.sleep(0.002)
        out.append(time.perf_counter() - t0 - run_s)
    return out


# -- 2. the sweep --------------------------------------------------------------------------


def sweep(sim: SimFarm, runs: int, pools: int, run_s: float, phones: int) -> dict[str, float]:
    farm = sim.farm
    all_pools = tuple(f"pool-{p:03d}" for p in range(pools))
    per_job = len(all_pools)
    jobs = []
    t0 = time.perf_counter()
    for _ in range(math.ceil(runs / per_job)):
        job = noop_job(
            farm.artifacts,
            DeviceSelector(pools=all_pools),
            priority=0,
            submitted_by="sweep:bench@1",
            label="schedule bench",
        )
        farm.coordinator.submit(job)
        jobs.append(job.job_id)
    submit_s = time.perf_counter() - t0
    sent: dict[str, datetime] = {}
    # On-demand work while the sweep runs: one run every few seconds on a rotating pool. Its
    # latency to start is the device's own start time (``started_at``) minus when it was
    # submitted: the store hears of the start later, through the busy results queue.
    k = 0
    while True:
        records = [r for j in jobs for r in farm.store.list_runs(j)]
        if sum(r.status is RunStatus.QUEUED for r in records) < phones:
            break  # the sweep's last wave: nothing left for on-demand work to jump
        job = noop_job(farm.artifacts, DeviceSelector(pools=(all_pools[k % pools],)), priority=5)
        k += 1
        sent[job.job_id] = datetime.now(UTC)
        farm.coordinator.submit(job)
        time.sleep(max(1.0, run_s))
    on_demand = list(sent)
    wait_finished(farm, jobs + on_demand)
    makespan = time.perf_counter() - t0
    records = [r for j in jobs for r in farm.store.list_runs(j)]
    busy = 0.0
    for r in records:
        assert r.result is not None
        assert r.result.started_at is not None
        assert r.result.finished_at is not None
        busy += (r.result.finished_at - r.result.started_at).total_seconds()
    busy += len(on_demand) * run_s
    latencies = []
    for job_id in on_demand:
        (record,) = farm.store.list_runs(job_id)
        assert record.result is not None
        assert record.result.started_at is not None
        latencies.append((record.result.started_at - sent[job_id]).total_seconds())
    lower = math.ceil((len(records) + len(on_demand)) / phones) * run_s
    return {
        "runs": len(records),
        "submit_s": submit_s,
        "makespan_s": makespan,
        "lower_bound_s": lower,
        "utilisation": busy / (phones * makespan),
        "on_demand_n": len(latencies),
        "on_demand_p50_s": statistics.median(latencies) if latencies else float("nan"),
        "on_demand_max_s": max(latencies) if latencies else float("nan"),
    }


# -- 3. recording throughput with 1, 2, 4 coordinator processes ----------------------------


def recorder_main(broker: str) -> None:
    """A coordinator process that only records results (``--recorder``)."""
    settings = Settings(data_dir=Path(tempfile.mkdtemp()), broker_url=broker, store_url=PG_URL)
    farm = connect(settings)
    roles(farm.app).recorder = farm.coordinator
    worker = WorkerThread(farm.app, [RESULTS_QUEUE], hostname=f"rec-{os.getpid()}@bench")
    worker.start()
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    worker.stop()


def recording(broker: str, root: Path, processes: int, n: int) -> tuple[float, int, int]:
    """(results recorded per second, runs recorded, results delivered)."""
    settings = Settings(data_dir=root / "rec", broker_url=broker, store_url=PG_URL)
    farm = connect(settings)
    artifacts = LocalArtifactStore(root / "rec-a")
    job = noop_job(artifacts, DeviceSelector(pools=("rec",)))
    runs = []
    for _ in range(n):
        (spec, queue), *_ = plan_runs(job, [])
        runs.append((spec, queue))
    farm.store.add_job(job, runs)
    now = datetime.now(UTC)
    device = NOOP.model_copy(update={"udid": "phone-rec"})
    results = [
        RunResult(
            run_id=spec.run_id,
            job_id=job.job_id,
            device=device,
            compute_unit=spec.compute_unit,
            status=RunStatus.PASSED,
            started_at=now,
            finished_at=now,
        )
        for spec, _ in runs
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--recorder", broker],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for _ in range(processes)
    ]
    for p in procs:
        assert p.stdout is not None
        p.stdout.readline()
    t0 = time.perf_counter()
    for result in results + results:  # every result delivered twice
        send_result(farm.app, result)
    deadline = time.monotonic() + 900
    recorded = 0
    while time.monotonic() < deadline:
        recorded = sum(r.result is not None for r in farm.store.list_runs(job.job_id))
        if recorded == n:
            break
        time.sleep(0.2)
    elapsed = time.perf_counter() - t0
    import redis

    waiting = redis.Redis.from_url(broker)
    while waiting.llen(RESULTS_QUEUE) and time.monotonic() < deadline:
        time.sleep(0.1)  # the duplicates drain too
    time.sleep(1.0)
    waiting.close()
    for p in procs:
        assert p.stdin is not None
        p.stdin.close()
        p.wait(60)
    final = sum(r.result is not None for r in farm.store.list_runs(job.job_id))
    farm.liveness.close()
    return n / elapsed, final, 2 * n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=200)
    parser.add_argument("--pools", type=int, default=20)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--run-s", type=float, default=1.0)
    parser.add_argument("--coordinators", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--results", type=int, default=2000)
    parser.add_argument("--recorder", metavar="BROKER", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Ignored duplicates are logged one line each: expected here, and not what we measure.
    logging.basicConfig(level=logging.ERROR)
    if args.recorder:
        recorder_main(args.recorder)
        return
    # A SIGTERM still stops our redis-server and drops our database (the finally below).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="pomar-bench-nightly-"))
    port = free_port()  # bench_farm's
    redis = subprocess.Popen(
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
            "--maxclients",
            "20000",
        ],
        stdout=subprocess.DEVNULL,
    )
    broker = f"redis://127.0.0.1:{port}/0"
    try:
        time.sleep(0.5)
        fresh_database()
        trips = raw_round_trip(broker)
        raw = statistics.median(trips)
        print(f"raw Celery+Redis round trip: p50 {raw * 1e3:.2f} ms")

        sim = start_farm(root, broker, args.phones, args.pools, args.run_s)
        print(f"{args.phones} phones (threads) in {args.pools} pools up in {sim.start_s:.0f} s")
        lone = lone_overheads(sim, args.run_s)
        over = statistics.median(lone)
        print(
            f"Pomar per-run overhead, lone run: p50 {over * 1e3:.1f} ms = "
            f"{over / raw:.1f}x the raw round trip (target <= 5x)"
        )
        got = sweep(sim, args.runs, args.pools, args.run_s, args.phones)
        sim.close()
        print(
            f"sweep of {got['runs']:.0f} runs ({args.run_s:g} s each; submitted in "
            f"{got['submit_s']:.1f} s): makespan {got['makespan_s']:.1f} s vs lower bound "
            f"{got['lower_bound_s']:.1f} s; utilisation {got['utilisation']:.1%} "
            f"(lower bound / makespan {got['lower_bound_s'] / got['makespan_s']:.1%}; "
            "target >= 95%)"
        )
        print(
            f"on-demand latency to start during the sweep ({got['on_demand_n']:.0f} runs): "
            f"p50 {got['on_demand_p50_s']:.2f} s, max {got['on_demand_max_s']:.2f} s "
            f"(target <= one run, {args.run_s:g} s)"
        )
        for k in args.coordinators:
            fresh_database()
            rate, recorded, delivered = recording(broker, root / f"rec{k}", k, args.results)
            print(
                f"recording with {k} coordinator process(es): {rate:.0f} results/s; "
                f"{recorded}/{args.results} runs recorded once from {delivered} deliveries"
            )
    finally:
        redis.terminate()
        redis.wait(10)
        with contextlib.suppress(subprocess.CalledProcessError):
            psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
