"""An agent's cool-down: a device rests between runs before it starts the next one."""

from __future__ import annotations

import threading

import pytest

from agent.serve import AgentConfig, ServedDevice
from pomar_core.leases import MemoryLiveness
from pomar_core.wire import ComputeUnit, DeviceInfo, DeviceKind, RunResult, RunSpec, RunStatus
from tests.factories import job_spec, run_spec

INFO = DeviceInfo(udid="emulated-1", kind=DeviceKind.EMULATED, product_type="E", marketing_name="e")


class Executor:
    def admit(self, spec: RunSpec) -> bool:
        return True

    def execute(self, spec: RunSpec, cancel: threading.Event | None = None) -> RunResult:
        return RunResult(
            run_id=spec.run_id,
            job_id=spec.job_id,
            device=INFO,
            compute_unit=ComputeUnit.CPU,
            status=RunStatus.PASSED,
        )


class Device:
    info = INFO


def served(cooldown_s: float) -> ServedDevice:
    config = AgentConfig(broker_url="memory://", name="a", cooldown_s=cooldown_s)
    return ServedDevice(Device(), Executor(), MemoryLiveness(), config)  # type: ignore[arg-type]


@pytest.mark.parametrize("cooldown_s", [0.0, 30.0])
def test_the_next_run_waits_out_the_cooldown_after_a_run(
    cooldown_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    rests: list[float] = []
    device = served(cooldown_s)
    monkeypatch.setattr(device, "sleep", rests.append)
    job = job_spec("j")
    first, second = run_spec(job, 1), run_spec(job, 2)
    assert device.admit(first)
    assert rests == []  # nothing ran before: no rest
    device.execute(first)
    assert device.admit(second)
    if cooldown_s:
        (rest,) = rests
        assert 0 < rest <= cooldown_s
    else:
        assert rests == []
