"""A nightly sweep on a simulated farm: utilisation, recording scale-out, on-demand latency,
and Pomar's per-run overhead against a raw Celery+Redis round trip — all in one run.

Real Redis (our own redis-server on a free port, stopped by pid) and a PostgreSQL database of
our own (``pomar_bench_nightly``, dropped at the end). The phones are no-op devices with a set
run time, served by :class:`agent.serve.Agent` exactly as real ones are: one Celery worker
per phone, each a *thread* of one of ``--agent-processes`` agent processes (as agents on
several Mac hosts; 0 puts every phone in this process). The coordinator (recording worker,
reconciler) runs in this process. Every phone, the coordinator and PostgreSQL share this
machine's cores, so the numbers are a floor for a farm whose agents run on their own hosts.
Printed:

1. raw Celery+Redis round trip (send a task, a worker thread runs it and sends a reply task,
   another worker thread receives it) and Pomar's per-run overhead for a lone run (submitted →
   recorded, timed by the coordinator's ``on_recorded``, minus the 50 ms device time of two
   phones kept for it), with their ratio (target ≤ 5×);
2. the sweep: R runs over N phones in P pools, on-demand runs submitted every quarter run
   while it runs; the lower bound is the slowest pool's waves, ceil(runs of the pool / its
   phones) × run time, and the target is lower bound / makespan ≥ 95%; device utilisation
   (device time / (N × makespan)) is printed too; the latency-to-start of the on-demand runs
   (target ≤ one run's duration);
3. recording throughput of 1, 2, 4 coordinator *processes* consuming one results queue into
   one PostgreSQL store, every result delivered twice: each must be recorded exactly once.

    python benchmarks/bench_nightly.py [--phones 1000] [--pools 100] [--runs 5000] [--run-s 20]
        [--agent-processes 4]

Not part of CI. With the defaults it takes about ten minutes on two cores.
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
from collections import Counter
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
from pomar_core.leases import RedisLiveness  # noqa: E402
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
LONE_POOL, LONE_S, LONE_FIRST = "lone", 0.05, 9000
"""Lone runs (the overhead figure) go to two phones of their own that take 50 ms a run."""
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


class Recorded:
    """The coordinator's ``on_recorded`` listener: when each run was recorded (perf_counter).
    Timing at the moment of recording, not by polling the store, which would both add the
    polling interval to every figure and load the machine it measures."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def __call__(self, result: RunResult, job: JobSpec) -> None:
        with self._lock:
            self.at[result.run_id] = time.perf_counter()
            self._changed.notify_all()

    def wait_job(self, run_ids: list[str], timeout_s: float = 120) -> float:
        """perf_counter when the last of ``run_ids`` was recorded."""
        with self._lock:
            if not self._changed.wait_for(lambda: all(r in self.at for r in run_ids), timeout_s):
                raise SystemExit(f"runs {run_ids} were not recorded in {timeout_s:.0f} s")
            return max(self.at[r] for r in run_ids)


@dataclass
class SimFarm:
    farm: Farm
    stop: threading.Event
    threads: list[threading.Thread]
    agents: list[subprocess.Popen[str]]
    recorded: Recorded
    start_s: float

    def close(self) -> None:
        for proc in self.agents:
            assert proc.stdin is not None
            proc.stdin.close()  # the agent process stops its workers and exits
        for proc in self.agents:
            proc.wait(300)
        self.stop.set()
        for t in self.threads:
            t.join(120)
        self.farm.liveness.close()


def phones_of(first: int, count: int, pools: int, run_s: float) -> list[Phone]:
    return [Phone(i, f"pool-{i % pools:03d}", run_s) for i in range(first, first + count)]


def serve_phones(
    broker: str, root: Path, phones: list[Phone], name: str, stop: threading.Event
) -> None:
    """One agent serving ``phones``, one Celery worker thread each, until ``stop``."""
    source: DeviceSource = lambda: phones  # noqa: E731
    config = AgentConfig(
        broker_url=broker, name=name, heartbeat_s=5.0, ttl_s=60.0, discover_s=3600.0
    )
    liveness = RedisLiveness(broker)
    agent = Agent(config, [source], liveness, LocalArtifactStore(root / "a"), root / f"c-{name}")
    agent.run(stop)
    liveness.close()


def agent_main(broker: str, root: str, first: int, count: int, pools: int, run_s: float) -> None:
    """An agent process (``--agent``): serves its phones until the parent closes our stdin."""
    stop = threading.Event()
    phones = phones_of(first, count, pools, run_s)
    name = f"sim-{first}"
    serving = threading.Thread(target=serve_phones, args=(broker, Path(root), phones, name, stop))
    serving.start()
    sys.stdin.read()
    stop.set()
    serving.join(300)


def start_farm(
    root: Path, broker: str, phones: int, pools: int, run_s: float, processes: int
) -> SimFarm:
    """The coordinator in this process; the phones in ``processes`` agent processes (0: in
    threads of this process)."""
    settings = Settings(
        data_dir=root / "data", broker_url=broker, store_url=PG_URL, artifacts_url=str(root / "a")
    )
    farm = connect(settings, wait_s=3600)
    recorded = Recorded()
    farm.coordinator.on_recorded.append(recorded)
    stop = threading.Event()
    t0 = time.perf_counter()
    threads = [
        threading.Thread(
            target=serve_coordinator,
            args=(farm, stop),
            kwargs={"cache_dir": root / "cache", "tick_s": 1.0, "sweep_tick_s": 3600.0},
            daemon=True,
            name="coordinator",
        ),
    ]
    agents: list[subprocess.Popen[str]] = []
    # Two phones of their own, in this process, time lone runs (as the raw round trip is).
    local = [Phone(LONE_FIRST + i, LONE_POOL, LONE_S) for i in range(2)]
    if processes == 0:
        local += phones_of(0, phones, pools, run_s)
    threads.append(
        threading.Thread(target=serve_phones, args=(broker, root, local, "sim", stop), daemon=True)
    )
    if processes:
        share = math.ceil(phones / processes)
        for first in range(0, phones, share):
            count = min(share, phones - first)
            command = [sys.executable, __file__, "--agent", broker, str(root), str(first)]
            command += [str(count), str(pools), str(run_s)]
            agents.append(subprocess.Popen(command, stdin=subprocess.PIPE, text=True, cwd=REPO))
    for t in threads:
        t.start()
    while len(farm.liveness.live()) < phones + 2:
        time.sleep(0.5)
    started = time.perf_counter() - t0
    time.sleep(2.0)  # every worker reaches its consumer loop
    return SimFarm(farm, stop, threads, agents, recorded, started)


def wait_finished(farm: Farm, timeout_s: float = 3600) -> None:
    """Until no run of this (fresh) database is unfinished: a narrow query, once a second."""
    deadline = time.monotonic() + timeout_s
    while farm.store.unfinished_states():
        if time.monotonic() > deadline:
            raise SystemExit("the sweep did not finish")
        time.sleep(1.0)


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


def lone_overheads(sim: SimFarm, n: int = 30) -> list[float]:
    """Submitted → recorded (the coordinator's ``on_recorded``) minus device time, one run at a
    time on an idle farm."""
    out = []
    for _ in range(n):
        job = noop_job(sim.farm.artifacts, DeviceSelector(pools=(LONE_POOL,)))
        t0 = time.perf_counter()
        specs = sim.farm.coordinator.submit(job)
        done = sim.recorded.wait_job([s.run_id for s in specs])
        out.append(done - t0 - LONE_S)
    return out


# -- 2. the sweep --------------------------------------------------------------------------


def sweep(sim: SimFarm, runs: int, pools: int, run_s: float, phones: int) -> dict[str, Any]:
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
    # On-demand work while the sweep runs: one run every quarter run on a rotating pool. Its
    # latency to start is the device's own start time (``started_at``) minus when it was
    # submitted: the store hears of the start later, through the busy results queue.
    k = 0
    while True:
        queued = sum(s.status is RunStatus.QUEUED for s in farm.store.unfinished_states())
        if queued < phones:
            break  # the sweep's last wave: nothing left for on-demand work to jump
        job = noop_job(farm.artifacts, DeviceSelector(pools=(all_pools[k % pools],)), priority=5)
        k += 1
        sent[job.job_id] = datetime.now(UTC)
        farm.coordinator.submit(job)
        time.sleep(max(0.25, run_s / 4))
    on_demand = list(sent)
    wait_finished(farm)
    makespan = max(sim.recorded.at.values()) - t0
    records = [r for j in jobs for r in farm.store.list_runs(j)]
    demand = [r for j in on_demand for r in farm.store.list_runs(j)]
    busy = 0.0
    per_pool: dict[str, int] = {}
    for r in records + demand:
        per_pool[r.queue] = per_pool.get(r.queue, 0) + 1
        if r.result is not None and r.result.started_at and r.result.finished_at:
            busy += (r.result.finished_at - r.result.started_at).total_seconds()
    statuses = Counter(r.status.value for r in records + demand)
    retried = sum(r.attempt > 1 for r in records + demand)
    latencies = [
        (r.result.started_at - sent[r.spec.job_id]).total_seconds()
        for r in demand
        if r.result is not None and r.result.started_at is not None
    ]
    # Each pool's phones can only take that pool's runs: the makespan can be no shorter than
    # the slowest pool's waves (an on-demand run in a full pool adds one wave there).
    per_phone = phones / pools
    lower = max(math.ceil(n / per_phone) for n in per_pool.values()) * run_s
    return {
        "runs": len(records),
        "submit_s": submit_s,
        "makespan_s": makespan,
        "lower_bound_s": lower,
        "utilisation": busy / (phones * makespan),
        "on_demand_n": len(latencies),
        "on_demand_p50_s": statistics.median(latencies) if latencies else float("nan"),
        "on_demand_max_s": max(latencies) if latencies else float("nan"),
        "statuses": ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())),
        "retried": retried,
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
    parser.add_argument("--phones", type=int, default=1000)
    parser.add_argument("--pools", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--run-s", type=float, default=20.0)
    parser.add_argument(
        "--agent-processes", type=int, default=4, help="0: every phone in a thread of this process"
    )
    parser.add_argument("--coordinators", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--results", type=int, default=2000)
    parser.add_argument("--recorder", metavar="BROKER", help=argparse.SUPPRESS)
    parser.add_argument("--agent", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Ignored duplicates are logged one line each: expected here, and not what we measure.
    logging.basicConfig(level=logging.ERROR)
    if args.recorder:
        recorder_main(args.recorder)
        return
    if args.agent:
        broker, root, first, count, pools, run_s = args.agent
        agent_main(broker, root, int(first), int(count), int(pools), float(run_s))
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
    sim: SimFarm | None = None
    try:
        time.sleep(0.5)
        fresh_database()
        trips = raw_round_trip(broker)
        raw = statistics.median(trips)
        print(f"raw Celery+Redis round trip, no farm up: p50 {raw * 1e3:.2f} ms")

        procs = args.agent_processes
        sim = start_farm(root, broker, args.phones, args.pools, args.run_s, procs)
        how = f"threads of {procs} agent processes" if procs else "threads of this process"
        print(f"{args.phones} phones ({how}) in {args.pools} pools up in {sim.start_s:.0f} s")
        lone = lone_overheads(sim)
        over = statistics.median(lone)
        # The raw trip again, now that the farm's idle phones share the machine with it.
        busy_raw = statistics.median(raw_round_trip(broker, 100))
        print(
            f"Pomar per-run overhead, lone run: p50 {over * 1e3:.1f} ms = "
            f"{over / busy_raw:.1f}x the raw round trip with the farm up "
            f"(p50 {busy_raw * 1e3:.2f} ms; target <= 5x), {over / raw:.1f}x the idle one"
        )
        got = sweep(sim, args.runs, args.pools, args.run_s, args.phones)
        sim.close()
        sim = None
        print(
            f"sweep of {got['runs']:.0f} runs ({args.run_s:g} s each; submitted in "
            f"{got['submit_s']:.1f} s): makespan {got['makespan_s']:.1f} s vs lower bound "
            f"{got['lower_bound_s']:.1f} s = {got['lower_bound_s'] / got['makespan_s']:.1%} "
            f"(target >= 95%); device utilisation {got['utilisation']:.1%}; "
            f"{got['statuses']}; {got['retried']} retried"
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
        if sim is not None:  # failed mid-way: stop our agent processes before their Redis
            sim.close()
        redis.terminate()
        redis.wait(10)
        with contextlib.suppress(subprocess.CalledProcessError):
            psql(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
