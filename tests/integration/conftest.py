"""Real Redis, real ``pomar coordinator`` and ``pomar agent`` processes, killed by pid."""

from __future__ import annotations

import contextlib
import gc
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest

from orchestrator.farm import Farm, connect
from pomar_core.settings import Settings
from tests.conftest import need_service
from tests.integration.models import copy_artifacts_to

REPO = Path(__file__).resolve().parents[2]
POMAR = [sys.executable, "-c", "import sys; from pomar.cli import main; sys.exit(main())"]
HEARTBEAT_S = 0.5
HEARTBEAT_TTL_S = 10.0
LOST_AFTER_S = 5.0
"""A busy agent on a loaded 2-core machine can miss heartbeats for seconds: a device counts as
lost only after its last beat expired (TTL) and LOST_AFTER_S more, so that only a real loss
(a killed agent, an unplugged phone) requeues a run."""
TICK_S = 0.3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, predicate: Callable[[], object], timeout_s: float = 180.0) -> None:
    """Poll until ``predicate`` is truthy; fail naming ``what`` otherwise. The deadline is
    generous: on a loaded 2-core machine starting one ``pomar`` process takes half a minute."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


class RedisServer:
    """Our own redis-server, without persistence, so a restart loses everything queued."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for("redis-server to accept connections", self._up, 10)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def _up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class FarmProcesses:
    """Starts coordinator and agent subprocesses of one test farm and kills them at the end."""

    def __init__(self, root: Path, redis: RedisServer, store_url: str) -> None:
        self.root = root
        self.redis = redis
        self.control = root / "control"
        self.control.mkdir()
        self.env = {
            **os.environ,
            "POMAR_BROKER_URL": redis.url,
            "POMAR_STORE_URL": store_url,
            "POMAR_DATA_DIR": str(root / "data"),
            "POMAR_ARTIFACTS_URL": str(root / "artifacts"),
            "POMAR_TEST_CONTROL": str(self.control),
            "PYTHONPATH": str(REPO),
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.clients: list[Farm] = []
        copy_artifacts_to(root / "artifacts")

    @property
    def settings(self) -> Settings:
        return Settings(
            data_dir=self.root / "data",
            broker_url=self.redis.url,
            store_url=self.env["POMAR_STORE_URL"],
            artifacts_url=str(self.root / "artifacts"),
        )

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def start(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        with (self.root / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                [*POMAR, *args], cwd=REPO, env={**self.env, **env}, stdout=log, stderr=log
            )
        self.procs[name] = proc
        return proc

    def coordinator(self, *extra: str) -> subprocess.Popen[bytes]:
        return self.start(
            "coordinator",
            [
                "coordinator",
                "--tick",
                str(TICK_S),
                "--lost-after",
                str(LOST_AFTER_S),
                *extra,
            ],
        )

    def agent(self, name: str, first: int, count: int, pool: str) -> subprocess.Popen[bytes]:
        args = [
            "agent",
            "--devices-from",
            "tests.integration.devices:held",
            "--label",
            pool,
            "--name",
            name,
            "--heartbeat",
            str(HEARTBEAT_S),
            "--ttl",
            str(HEARTBEAT_TTL_S),
            "--discover",
            "0.3",
        ]
        return self.start(name, args, POMAR_TEST_FIRST=str(first), POMAR_TEST_COUNT=str(count))

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*POMAR, *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=300
        )

    def cli_in_process(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The same command run by ``pomar.cli.main`` in this process: for a check that must
        land before a deadline, which a fresh process's imports can outlast under load."""
        from pomar.cli import main

        out, err = io.StringIO(), io.StringIO()
        farm_env = {k: v for k, v in self.env.items() if k.startswith("POMAR_")}
        with (
            mock.patch.dict(os.environ, farm_env),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = main(list(args))
        # A command leaves closing its store connection to process exit; here that is the
        # garbage collector, whose ResourceWarning would otherwise surface in a later test.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        return subprocess.CompletedProcess(["pomar", *args], code, out.getvalue(), err.getvalue())

    def hold(self, udid: str) -> None:
        (self.control / f"hold-{udid}").touch()

    def release(self, udid: str) -> None:
        (self.control / f"hold-{udid}").unlink(missing_ok=True)

    def unplug(self, udid: str) -> None:
        (self.control / f"gone-{udid}").touch()

    def plug(self, udid: str) -> None:
        (self.control / f"gone-{udid}").unlink(missing_ok=True)

    def client(self) -> Farm:
        """This test's own view of the farm (store, Redis, routing), as the CLI opens it."""
        farm = connect(self.settings)
        self.clients.append(farm)
        return farm

    def print_logs(self) -> None:
        """Log tails, printed at teardown: pytest shows them when the test failed."""
        for log in sorted(self.root.glob("*.log")):
            lines = [
                line
                for line in log.read_text(errors="replace").splitlines()
                if "coremltools" not in line and not line.startswith(("DEBUG", " "))
            ]
            print(f"--- {log.name} ---", *lines[-40:], sep="\n")

    def stop_all(self) -> None:
        self.print_logs()
        for farm in self.clients:
            farm.liveness.close()
            farm.store.close()  # type: ignore[attr-defined]
        for name in list(self.procs):
            proc = self.procs.pop(name)
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        need_service("Redis", "redis-server is not on PATH")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


def start_farm(root: Path, redis: RedisServer, store_url: str) -> FarmProcesses:
    return FarmProcesses(root, redis, store_url)


@pytest.fixture
def farm_procs(tmp_path: Path, redis_server: RedisServer) -> Iterator[FarmProcesses]:
    procs = FarmProcesses(tmp_path, redis_server, f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield procs
    procs.stop_all()
