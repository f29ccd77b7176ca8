"""The Mac backend: everything but Core ML is tested on any OS with a fake backend; the real
Core ML runs are marked ``macos`` and skip elsewhere (from the ``macos`` fixture)."""

from __future__ import annotations

import gc
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from agent.device import Device, Outcome, RunRequest
from agent.devices.mac.compute_units import COREMLTOOLS_NAMES, coremltools_name, mac_compute_units
from agent.devices.mac.coreml import PredictionFailed, Predictor, require_macos
from agent.devices.mac.device import CONVERSION_WARNING, MacDevice, mac_device_info
from agent.devices.mac.environment import (
    PowerState,
    mac_run_environment,
    parse_battery,
    parse_low_power_mode,
    power_state,
)
from agent.devices.mac.timing import measure_predictions, time_call
from pomar_core.errors import DeviceNotReady, ModelError, UsageError
from pomar_core.wire import (
    ComputePlanEntry,
    ComputeUnit,
    DeviceKind,
    ModelRef,
    RunConfig,
    RunEnvironment,
)


class SteppingClock:
    """Advances a fixed step at every read: every timed call takes exactly one step."""

    def __init__(self, step: int) -> None:
        self.now = 0
        self.step = step

    def __call__(self) -> int:
        self.now += self.step
        return self.now


class FakePredictor:
    def __init__(self, fail_at: int | None = None) -> None:
        self.calls = 0
        self.fail_at = fail_at

    def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.calls += 1
        if self.calls == self.fail_at:
            raise PredictionFailed("input 'x' has the wrong shape")
        return {"y": inputs["x"] * 2}


class FakeCoreML:
    def __init__(self, *, fail_load: bool = False, fail_at: int | None = None) -> None:
        self.loads: list[ComputeUnit] = []
        self.fail_load = fail_load
        self.predictor = FakePredictor(fail_at)

    def compile(self, model_path: Path, into: Path) -> Path:
        return model_path if model_path.suffix == ".mlmodelc" else into / "model.mlmodelc"

    def load(self, compiled: Path, unit: ComputeUnit, *, low_precision_gpu: bool) -> Predictor:
        if self.fail_load:
            raise ModelError("Core ML could not load the model on ane: unsupported op")
        self.loads.append(unit)
        return self.predictor

    def compute_plan(self, compiled: Path, unit: ComputeUnit) -> tuple[ComputePlanEntry, ...]:
        return (ComputePlanEntry(op="main/0/y", op_type="mul", preferred="ane"),)


def model_ref() -> ModelRef:
    return ModelRef(
        sha256="ab" * 32,
        format="mlpackage",
        name="double",
        source_kind="mlpackage",
        specification_version=7,
        model_type="mlProgram",
        inputs=(),
        outputs=(),
    )


def request(path: Path, unit: ComputeUnit = ComputeUnit.ANE, **config: object) -> RunRequest:
    return RunRequest(
        run_id="run-1",
        model=model_ref(),
        model_path=path,
        inputs={"x": np.arange(4, dtype=np.float32)},
        compute_unit=unit,
        config=RunConfig.model_validate({"warmup": 2, "iterations": 5, **config}),
    )


def fake_device(backend: FakeCoreML, footprints: list[int] | None = None) -> MacDevice:
    values = iter(footprints or [100, 150, 170, 160, 165, 161, 162, 163, 164, 160, 161, 150])
    return MacDevice(
        mac_device_info(sysctl=lambda _: None, serial="TEST", os_version="15.1", machine="arm64"),
        backend=backend,
        clock=SteppingClock(1_000_000),
        footprint=lambda: next(values, 150),
        require=lambda: None,
        power=lambda: PowerState(),
    )


def test_every_compute_unit_maps_to_a_distinct_coremltools_unit() -> None:
    ct = pytest.importorskip("coremltools")
    assert set(COREMLTOOLS_NAMES) == set(ComputeUnit)
    assert len(set(COREMLTOOLS_NAMES.values())) == len(ComputeUnit)
    for unit in ComputeUnit:
        assert coremltools_name(unit) in ct.ComputeUnit.__members__


def test_an_unknown_compute_unit_is_refused_not_run_as_all() -> None:
    with pytest.raises(UsageError, match="unknown compute unit"):
        coremltools_name("npu")


def test_the_neural_engine_is_offered_only_on_apple_silicon() -> None:
    assert ComputeUnit.ANE in mac_compute_units(apple_silicon=True)
    assert ComputeUnit.ANE not in mac_compute_units(apple_silicon=False)


def test_first_warmup_and_timed_predictions_are_measured_separately() -> None:
    calls: list[str] = []
    loop = measure_predictions(
        lambda: calls.append("p"),
        warmup=2,
        iterations=5,
        min_duration_s=0,
        clock=SteppingClock(1_000),
    )
    assert len(calls) == 1 + 2 + 5
    assert loop.first_prediction_ns == 1_000
    assert loop.warmup_ns == (1_000, 1_000)
    assert loop.prediction_ns == (1_000,) * 5


def test_minimum_duration_extends_the_timed_phase_beyond_the_iteration_count() -> None:
    loop = measure_predictions(
        lambda: None, warmup=0, iterations=1, min_duration_s=30e-6, clock=SteppingClock(1_000)
    )
    assert len(loop.prediction_ns) > 1


def test_sample_ceiling_ends_an_endless_minimum_duration() -> None:
    loop = measure_predictions(
        lambda: None,
        warmup=0,
        iterations=3,
        min_duration_s=1e9,
        clock=SteppingClock(1),
        max_samples=10,
    )
    assert len(loop.prediction_ns) == 10


def test_memory_is_sampled_outside_the_clock_after_every_prediction() -> None:
    phases: list[str] = []
    measure_predictions(
        lambda: None,
        warmup=1,
        iterations=2,
        min_duration_s=0,
        clock=SteppingClock(1),
        after_each=lambda phase, _i: phases.append(phase),
    )
    assert phases == ["first_prediction", "warmup", "predictions", "predictions"]


def test_time_call_returns_the_result_and_elapsed_nanoseconds() -> None:
    assert time_call(lambda: "ok", SteppingClock(7)) == ("ok", 7)


def test_device_info_describes_the_host_mac() -> None:
    answers = {
        "hw.model": "Mac14,6",
        "hw.memsize": "34359738368",
        "machdep.cpu.brand_string": "Apple M2 Max",
    }
    info = mac_device_info(sysctl=answers.get, serial="C02XYZ", os_version="15.1", machine="arm64")
    assert info.udid == "mac-C02XYZ"
    assert info.kind is DeviceKind.MAC
    assert (info.product_type, info.chip, info.ram_bytes) == ("Mac14,6", "Apple M2 Max", 32 << 30)
    assert ComputeUnit.ANE in info.compute_units
    assert "mac" in info.pools


def test_a_run_reports_phase_timings_latency_memory_outputs_and_plan(tmp_path: Path) -> None:
    backend = FakeCoreML()
    device = fake_device(backend)
    assert isinstance(device, Device)
    outcome = device.run(request(tmp_path / "model.mlpackage"))
    assert outcome.outcome is Outcome.COMPLETED, outcome.error
    assert backend.loads == [ComputeUnit.ANE, ComputeUnit.ANE]  # cold, then warm
    assert backend.predictor.calls == 1 + 2 + 5
    np.testing.assert_array_equal(outcome.outputs["y"], np.arange(4, dtype=np.float32) * 2)
    timings = outcome.timings
    assert timings.compile_ms == 1.0
    assert (timings.cold_load_ms, timings.warm_load_ms, timings.first_prediction_ms) == (1, 1, 1)
    assert timings.latency is not None
    assert timings.latency.samples_ms == (1.0,) * 5
    assert outcome.memory.baseline_bytes == 100
    assert outcome.memory.after_load_bytes == 150
    assert outcome.memory.peak_bytes == 170
    assert outcome.memory.source == "phys_footprint"
    assert outcome.compute_plan[0].preferred == "ane"
    assert CONVERSION_WARNING in outcome.warnings


def test_an_already_compiled_model_reports_no_compile_time(tmp_path: Path) -> None:
    outcome = fake_device(FakeCoreML()).run(request(tmp_path / "model.mlmodelc"))
    assert outcome.outcome is Outcome.COMPLETED
    assert outcome.timings.compile_ms is None


def test_a_model_core_ml_cannot_load_is_an_error_outcome_not_an_exception(tmp_path: Path) -> None:
    outcome = fake_device(FakeCoreML(fail_load=True)).run(request(tmp_path / "m.mlpackage"))
    assert outcome.outcome is Outcome.ERROR
    assert outcome.error is not None
    assert "could not load" in outcome.error


def test_a_failing_prediction_is_an_error_outcome(tmp_path: Path) -> None:
    outcome = fake_device(FakeCoreML(fail_at=3)).run(request(tmp_path / "m.mlpackage"))
    assert outcome.outcome is Outcome.ERROR
    assert outcome.error is not None
    assert "wrong shape" in outcome.error


@pytest.mark.skipif(sys.platform == "darwin", reason="checks the refusal off macOS")
def test_the_mac_device_is_not_ready_off_macos() -> None:
    with pytest.raises(DeviceNotReady, match="needs macOS"):
        require_macos()
    with pytest.raises(DeviceNotReady):
        MacDevice(mac_device_info(sysctl=lambda _: None, serial="x")).check_ready()


# ---- Core ML on a real Mac -------------------------------------------------------------------


@pytest.fixture
def macos() -> None:
    """Skip unless Core ML can run here (macOS with coremltools' native bindings)."""
    try:
        require_macos()
    except DeviceNotReady as exc:
        pytest.skip(exc.one_line())


@pytest.fixture(scope="module")
def tiny_mlpackage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """y = relu(x * 2 + 1) on a (1, 4) float32 input, as an ML program."""
    try:
        require_macos()  # module-scoped, so it cannot lean on the function-scoped fixture
    except DeviceNotReady as exc:
        pytest.skip(exc.one_line())
    ct = pytest.importorskip("coremltools")
    from coremltools.converters.mil import Builder as mb

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 4))])
    def program(x):  # type: ignore[no-untyped-def]
        return mb.relu(x=mb.add(x=mb.mul(x=x, y=2.0), y=1.0), name="y")

    with warnings.catch_warnings():
        # coremltools 9.0 drops a TemporaryDirectory without closing it during convert.
        warnings.simplefilter("ignore", ResourceWarning)
        model = ct.convert(
            program, convert_to="mlprogram", minimum_deployment_target=ct.target.macOS13
        )
        path = tmp_path_factory.mktemp("mac") / "tiny.mlpackage"
        model.save(str(path))
        del model
        gc.collect()
    return path


@pytest.mark.macos
@pytest.mark.parametrize("unit", list(ComputeUnit))
def test_core_ml_runs_the_model_on_every_compute_unit(
    macos: None, tiny_mlpackage: Path, unit: ComputeUnit
) -> None:
    device = MacDevice()
    req = RunRequest(
        run_id=f"mac-{unit.value}",
        model=model_ref(),
        model_path=tiny_mlpackage,
        inputs={"x": np.array([[-2.0, -0.5, 0.0, 3.0]], dtype=np.float32)},
        compute_unit=unit,
        config=RunConfig(warmup=1, iterations=3),
    )
    outcome = device.run(req)
    assert outcome.outcome is Outcome.COMPLETED, outcome.error
    np.testing.assert_allclose(outcome.outputs["y"], [[0.0, 0.0, 1.0, 7.0]], atol=1e-2)
    assert outcome.timings.compile_ms is not None
    assert outcome.timings.latency is not None
    assert len(outcome.timings.latency.samples_ms) == 3
    assert outcome.memory.peak_bytes is not None


LAPTOP_BATT = (
    "Now drawing from 'Battery Power'\n"
    " -InternalBattery-0 (id=4653155)\t85%; discharging; 5:12 remaining present: true\n"
)
DESKTOP_BATT = "Now drawing from 'AC Power'\n"
PMSET_G = (
    "System-wide power settings:\nCurrently in use:\n standby              1\n"
    " lowpowermode         1\n sleep                1\n"
)


def test_pmset_battery_is_read_on_a_laptop_and_absent_on_a_desktop() -> None:
    assert parse_battery(LAPTOP_BATT) == 0.85
    assert parse_battery(DESKTOP_BATT) is None


def test_pmset_low_power_mode_is_read_from_either_spelling() -> None:
    assert parse_low_power_mode(PMSET_G) is True
    assert parse_low_power_mode(PMSET_G.replace("lowpowermode         1", "powermode 0")) is False
    assert parse_low_power_mode(" sleep 1\n") is None


def test_power_state_asks_pmset_and_tolerates_its_absence() -> None:
    answers = {"batt": LAPTOP_BATT, "-g": PMSET_G}
    state = power_state(lambda argv: answers[argv[-1]])
    assert state == PowerState(battery_level=0.85, low_power_mode=True)
    assert power_state(lambda argv: None) == PowerState()


def test_a_mac_run_reports_battery_and_low_power_but_no_thermal_state(tmp_path: Path) -> None:
    states = iter([PowerState(0.85, False), PowerState(0.84, False)])
    device = fake_device(FakeCoreML())
    device._power = lambda: next(states)
    outcome = device.run(request(tmp_path / "m.mlpackage"))
    assert outcome.outcome is Outcome.COMPLETED
    assert outcome.environment == RunEnvironment(
        battery_before=0.85, battery_after=0.84, low_power_mode=False
    )


def test_a_mac_where_pmset_says_nothing_has_no_environment() -> None:
    assert mac_run_environment(PowerState(), PowerState()) is None
