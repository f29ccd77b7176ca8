"""The agent's run task: "started" is published while the device runs, never after the result,
and a broker that cannot take it does not stop the run."""

from __future__ import annotations

import threading

import pytest

import pomar_core.celery_app as celery_app
from pomar_core.celery_app import EXECUTE_RUN, make_app, roles
from pomar_core.errors import BrokerError
from pomar_core.wire import ComputeUnit, DeviceInfo, DeviceKind, RunResult, RunSpec, RunStatus
from tests.factories import job_spec, run_spec

INFO = DeviceInfo(udid="emulated-0", kind=DeviceKind.EMULATED, product_type="E", marketing_name="e")


class Executor:
    def __init__(self) -> None:
        self.running = threading.Event()

    @property
    def device_udid(self) -> str:
        return INFO.udid

    def admit(self, spec: RunSpec) -> bool:
        return True

    def execute(self, spec: RunSpec) -> RunResult:
        self.running.set()
        return RunResult(
            run_id=spec.run_id,
            job_id=spec.job_id,
            device=INFO,
            compute_unit=ComputeUnit.CPU,
            status=RunStatus.PASSED,
        )


def run_task(executor: Executor) -> None:
    app = make_app(None, name="pomar-test-execute")
    roles(app).executor = executor
    spec = run_spec(job_spec("job-1"), 0)
    app.tasks[EXECUTE_RUN](spec.model_dump_json())


def test_started_is_published_while_the_device_runs_and_before_the_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executor = Executor()
    sent: list[str] = []

    def started(app: object, run_id: str, udid: str, attempt: int) -> None:
        # Only returns once the device runs: published before the run, this would hang.
        assert executor.running.wait(10), "started was published before the run, not during"
        sent.append("started")

    monkeypatch.setattr(celery_app, "send_run_started", started)
    monkeypatch.setattr(celery_app, "send_result", lambda app, result: sent.append("result"))
    run_task(executor)
    assert sent == ["started", "result"]


def test_a_broker_that_refuses_started_does_not_stop_the_run(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(app: object, run_id: str, udid: str, attempt: int) -> None:
        raise BrokerError("cannot publish to the broker: ConnectionError")

    results: list[RunResult] = []
    monkeypatch.setattr(celery_app, "send_run_started", refuse)
    monkeypatch.setattr(celery_app, "send_result", lambda app, result: results.append(result))
    run_task(Executor())
    assert [r.status for r in results] == [RunStatus.PASSED]
    assert "could not say it started" in caplog.text
