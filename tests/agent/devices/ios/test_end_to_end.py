"""A fake iPhone running a real converted Core ML model on the emulator, through the agent's run
executor: the RunResult the coordinator receives, for a good run and for each failure."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.devices.ios.device import IosDevice
from agent.devices.ios.fake import FAST_CONFIG, FakeIPhone, FakeScenario, FakeSession
from agent.executor import DeviceRunExecutor
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifacts import load_array, save_arrays
from pomar_core.model_archive import store_model
from pomar_core.wire import (
    ComputeUnit,
    InputSet,
    ModelRef,
    RunConfig,
    RunResult,
    RunSpec,
    RunStatus,
    TensorSpec,
)
from pomar_core.wire.base import DType
from pomar_core.wire.job import InputOrigin
from pomar_core.wire.model import SourceKind

UDID = "00008120-E2E000000001"
X = np.linspace(-1.0, 1.0, 8, dtype=np.float32).reshape(1, 8)


def convert_tiny(destination: Path) -> tuple[Path, np.ndarray[Any, Any]]:
    """Linear(8→4) + ReLU as an fp32 ML program; returns its path and torch's output for X."""
    ct = pytest.importorskip("coremltools")
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.ReLU()).eval()
    example = torch.from_numpy(X)
    with torch.no_grad():
        expected = module(example).numpy()
    with warnings.catch_warnings():
        # coremltools 9.0 leaks a weights TemporaryDirectory (ResourceWarning) and trips a
        # numpy overflow warning in its int16 cast pass; both inside ct.convert only.
        warnings.simplefilter("ignore", ResourceWarning)
        warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning)
        model = ct.convert(
            torch.jit.trace(module, (example,)),
            inputs=[ct.TensorType(name="x", shape=tuple(X.shape))],
            outputs=[ct.TensorType(name="y")],
            convert_to="mlprogram",
            compute_precision=ct.precision.FLOAT32,
            minimum_deployment_target=ct.target.iOS16,
        )
        path = destination / "tiny.mlpackage"
        model.save(str(path))
    return path, expected


class Farmlet:
    """One artifact store holding the tiny model and its inputs, and a spec factory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = LocalArtifactStore(root / "artifacts")
        package, self.expected = convert_tiny(root)
        sha, fmt = store_model(self.store, package)
        self.model = ModelRef(
            sha256=sha,
            format=fmt,
            name="tiny",
            source_kind=SourceKind.MLPACKAGE,
            specification_version=7,
            model_type="mlProgram",
            inputs=(TensorSpec(name="x", dtype=DType.FLOAT32, shape=X.shape),),
            outputs=(TensorSpec(name="y", dtype=DType.FLOAT32, shape=(1, 4)),),
        )
        self.inputs = InputSet(
            sha256=save_arrays(self.store, {"x": X}),
            origin=InputOrigin.GENERATED,
            tensors=self.model.inputs,
            seed=0,
        )
        self.runs = 0

    def spec(self, unit: ComputeUnit = ComputeUnit.CPU) -> RunSpec:
        self.runs += 1
        return RunSpec(
            run_id=f"e2e-{self.runs}",
            job_id="e2e",
            device_id=UDID,
            compute_unit=unit,
            model=self.model,
            inputs=self.inputs,
            config=RunConfig(warmup=1, iterations=4, timeout_s=30.0),
        )

    def execute(self, spec: RunSpec, **scenario: Any) -> RunResult:
        phone = FakeIPhone(UDID, scenario=FakeScenario(**scenario))  # the real emulator
        executor = DeviceRunExecutor(
            IosDevice(FakeSession(phone), FAST_CONFIG), self.store, self.root / "models"
        )
        return executor.execute(spec)


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Farmlet:
    return Farmlet(tmp_path_factory.mktemp("e2e"))


def test_a_fake_iphone_running_the_emulator_gives_a_full_run_result(farm: Farmlet) -> None:
    result = farm.execute(farm.spec(), battery_level=0.7)
    assert result.status is RunStatus.PASSED, result.error
    assert result.device.udid == UDID
    assert [o.name for o in result.outputs] == ["y"]
    y = load_array(farm.store, result.outputs[0].sha256)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, farm.expected, rtol=1e-5, atol=1e-6)
    assert result.timings.latency is not None
    assert len(result.timings.latency.samples_ms) == 4
    assert result.timings.cold_load_ms is not None
    assert (result.memory.peak_bytes or 0) > 0
    assert result.memory.source == "phys_footprint"
    assert result.environment is not None
    assert result.environment.battery_before == 0.7
    assert result.environment.thermal_after == "nominal"
    assert result.environment.low_power_mode is False
    assert any("compute plan" in w for w in result.warnings)
    assert RunResult.model_validate_json(result.model_dump_json()) == result


def test_the_neural_engine_run_computes_in_fp16_but_returns_the_declared_dtype(
    farm: Farmlet,
) -> None:
    result = farm.execute(farm.spec(ComputeUnit.ANE))
    assert result.status is RunStatus.PASSED, result.error
    y = load_array(farm.store, result.outputs[0].sha256)
    assert y.dtype == np.float32  # as Core ML: an fp32 output stays fp32 off the CPU
    np.testing.assert_allclose(y.astype(np.float32), farm.expected, rtol=2e-2, atol=2e-3)


@pytest.mark.parametrize(
    ("scenario", "status", "says"),
    [
        ({"jetsam_limit_bytes": 1}, RunStatus.OOM_KILLED, "per-process-limit"),
        ({"crash": True}, RunStatus.CRASHED, "EXC_BAD_ACCESS"),
        ({"disconnect_during_run": True}, RunStatus.DEVICE_LOST, "disconnected"),
    ],
    ids=["oom", "crash", "disconnect"],
)
def test_each_failure_reaches_the_coordinator_as_its_status(
    farm: Farmlet, scenario: dict[str, Any], status: RunStatus, says: str
) -> None:
    result = farm.execute(farm.spec(), **scenario)
    assert result.status is status
    assert says in (result.error or "")
    assert result.outputs == ()
    assert status.is_infrastructure_failure == (status is RunStatus.DEVICE_LOST)
    # A lost phone cannot be asked how it was; a killed app's phone can.
    assert (result.environment is None) == (status is RunStatus.DEVICE_LOST)
