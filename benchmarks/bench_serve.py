"""``pomar serve`` against the store it fronts, in one run on this machine.

Real PostgreSQL (a database of our own, dropped at the end), our own redis-server as the
broker (stopped by pid), uvicorn serving the app on a loopback port, httpx as the client.
Printed:

1. submit-to-queued latency: through the API (upload by hash — the model is cached, so 0
   bytes move — submit, poll until the runs are queued) against ``prepare_job`` +
   ``Coordinator.submit`` called directly; both prepare the same ``.mlpackage``, so the ratio
   is the API's overhead on a real submission;
2. a 64-run job's results document served (GET, parsed back into the ``ResultsDocument``)
   against ``stored_job`` reading it from the store (target < 10×);
3. 50 concurrent pollers on one job (GET its runs, each with its own connection): errors
   (target 0), requests per second, p50/p99 latency.

    python benchmarks/bench_serve.py [--submissions 5] [--reads 20] [--pollers 50]

Not part of CI; about a minute.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from benchmarks.bench_farm import _free_port as free_port  # noqa: E402
from orchestrator.check_job import CheckRequest, prepare_job  # noqa: E402
from orchestrator.coordinator import Coordinator  # noqa: E402
from orchestrator.intake import ConversionOptions  # noqa: E402
from orchestrator.reports import stored_job  # noqa: E402
from orchestrator.server.app import create_app  # noqa: E402
from orchestrator.server.schemas import SubmitRequest  # noqa: E402
from orchestrator.server.service import FarmService  # noqa: E402
from orchestrator.server.submissions import SubmissionStore  # noqa: E402
from orchestrator.server.tokens import Scope, TokenStore  # noqa: E402
from orchestrator.stores.sql import SqlJobStore, migrate  # noqa: E402
from pomar.client import PomarClient  # noqa: E402
from pomar_core.artifact_stores.local import LocalArtifactStore  # noqa: E402
from pomar_core.celery_app import make_app  # noqa: E402
from pomar_core.leases import RedisLiveness  # noqa: E402
from pomar_core.wire import ComputeUnit, DeviceSelector, RunConfig  # noqa: E402
from tests.orchestrator.server.models import tiny_package  # noqa: E402
from tests.orchestrator.server.seed import seed_finished_job  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CONFIG = RunConfig(compute_units=(ComputeUnit.CPU,), warmup=0, iterations=1)
TARGET = DeviceSelector(pools=("bench-serve",))


class Redis:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(workdir)),
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.3)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(10)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def submit_to_queued(
    service: FarmService, client: PomarClient, package: Path, n: int
) -> tuple[list[float], list[float]]:
    def direct() -> None:
        request = CheckRequest(
            model=str(package),
            conversion=ConversionOptions(),
            config=CONFIG,
            target=TARGET,
        )
        job = prepare_job(request, service.artifacts, service.cache_dir).job
        service.coordinator.submit(job)

    def api() -> None:
        model = client.upload_model(package, name="tiny.mlpackage")
        sub = client.submit(SubmitRequest(model=model, config=CONFIG, target=TARGET))
        client.wait_submitted(sub.submission_id, poll_s=0.02)

    api()  # warm both paths (imports, the model cache) before timing
    direct()
    directs, apis = [], []
    for _ in range(n):
        directs.append(timed(direct))
        apis.append(timed(api))
    return directs, apis


def results_reads(
    service: FarmService, client: PomarClient, job_id: str, n: int
) -> tuple[list[float], list[float]]:
    store_reads = [timed(lambda: stored_job(service.store, job_id)) for _ in range(n)]
    served = [timed(lambda: client.results(job_id)) for _ in range(n)]
    assert len(client.results(job_id).document.results) == 64
    return store_reads, served


def pollers(url: str, token: str, job_id: str, n: int, each: int) -> tuple[int, float, list[float]]:
    errors = 0
    latencies: list[float] = []
    lock = threading.Lock()

    def poll() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            for _ in range(each):
                start = time.perf_counter()
                try:
                    ok = http.get(f"/api/v1/jobs/{job_id}/runs").status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - start
                with lock:
                    latencies.append(took)
                    errors += not ok

    start = time.perf_counter()
    with ThreadPoolExecutor(n) as pool:
        for future in [pool.submit(poll) for _ in range(n)]:
            future.result()
    return errors, (n * each) / (time.perf_counter() - start), latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=5)
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--polls-each", type=int, default=20)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="pomar-bench-serve-"))
    redis = Redis(root)
    name = f"pomar_bench_serve_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    server: uvicorn.Server | None = None
    try:
        migrate(url)
        store = SqlJobStore(url)
        artifacts = LocalArtifactStore(root / "artifacts")
        liveness = RedisLiveness(redis.url)
        app = make_app(redis.url, name="bench-serve")
        service = FarmService(
            store=store,
            artifacts=artifacts,
            coordinator=Coordinator(store, artifacts, app, liveness, wait_s=None),
            liveness=liveness,
            tokens=TokenStore(store.engine),
            submissions=SubmissionStore(store.engine),
            cache_dir=root / "cache",
            upload_limit=1 << 30,
        )
        token, _ = service.tokens.create("bench", (Scope.SUBMIT,))
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning")
        )
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        client = PomarClient(base, token)
        package = tiny_package(root / "model")

        directs, apis = submit_to_queued(service, client, package, args.submissions)
        d, a = statistics.median(directs), statistics.median(apis)
        print(f"1. submit-to-queued (median of {args.submissions}, tiny .mlpackage prepared):")
        print(f"   direct prepare_job + Coordinator.submit  {d * 1000:8.1f} ms")
        print(f"   API upload(cached) + submit + poll       {a * 1000:8.1f} ms")
        print(
            f"   ratio API/direct                         {a / d:8.2f}x  (+{(a - d) * 1000:.1f} ms)"
        )

        job_id = seed_finished_job(store, "bench-64", runs=64)
        store_reads, served = results_reads(service, client, job_id, args.reads)
        s, v = statistics.median(store_reads), statistics.median(served)
        print(f"2. results document of a 64-run job (median of {args.reads}):")
        print(f"   read from the store (stored_job)         {s * 1000:8.1f} ms")
        print(f"   served over HTTP and parsed              {v * 1000:8.1f} ms")
        print(f"   ratio served/store                       {v / s:8.2f}x  (target < 10x)")

        print(f"3. {args.pollers} concurrent pollers x {args.polls_each} polls of one job's runs:")
        _, _, alone = pollers(base, token, job_id, 1, 20)
        print(f"   one poller alone: p50 {sorted(alone)[10] * 1000:.1f} ms")
        for cache_s in (0.0, service.poll_cache_s):
            service.poll_cache_s = cache_s
            # The pollers run in a process of their own: in the server's they would share
            # its interpreter lock.
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as other:
                errors, rate, lat = other.submit(
                    pollers, base, token, job_id, args.pollers, args.polls_each
                ).result()
            lat.sort()
            print(
                f"   poll cache {cache_s:.1f}s: errors {errors} of {len(lat)} (target 0), "
                f"{rate:.0f} requests/s, latency p50 {lat[len(lat) // 2] * 1000:.1f} ms, "
                f"p99 {lat[int(len(lat) * 0.99)] * 1000:.1f} ms"
            )
        client.close()
        store.close()
    finally:
        if server is not None:
            server.should_exit = True
        redis.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
