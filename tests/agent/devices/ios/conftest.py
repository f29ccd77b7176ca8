"""Fixtures for the iPhone backend: a tiny model folder, a request builder, fake iPhones."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from agent.device import RunRequest
from agent.devices.ios.config import IosConfig
from agent.devices.ios.fake import FAST_CONFIG, FakeIPhone, FakeScenario, FakeSession
from pomar_core.arrays import Arrays
from pomar_core.wire import ComputeUnit, ModelRef, RunConfig, TensorSpec
from pomar_core.wire.base import DType
from pomar_core.wire.model import ModelFormat, SourceKind


def doubling_predictor(model_path: Path, inputs: Arrays, compute_unit: str) -> Arrays:
    """Stands in for the emulator: y = 2x, in fp16 off the CPU like a real accelerator."""
    assert model_path.exists()
    y = inputs["x"] * 2
    return {"y": y if compute_unit == "cpu" else y.astype(np.float16)}


def make_model(tmp: Path, name: str, size: int) -> Path:
    package = tmp / f"{name}.mlpackage"
    (package / "Data").mkdir(parents=True)
    (package / "Manifest.json").write_text(json.dumps({"name": name}))
    (package / "Data" / "weights.bin").write_bytes(bytes(size))
    return package


def model_ref(sha: str) -> ModelRef:
    return ModelRef(
        sha256=sha,
        format=ModelFormat.MLPACKAGE,
        name="tiny",
        source_kind=SourceKind.MLPACKAGE,
        specification_version=7,
        model_type="mlProgram",
        inputs=(TensorSpec(name="x", dtype=DType.FLOAT32, shape=(2, 3)),),
        outputs=(TensorSpec(name="y", dtype=DType.FLOAT32, shape=(2, 3)),),
    )


RequestFactory = Callable[..., RunRequest]


@pytest.fixture
def make_request(tmp_path: Path) -> RequestFactory:
    counter = iter(range(1000))

    def build(
        sha: str = "a" * 64,
        size: int = 1000,
        timeout_s: float = 5.0,
        compute_unit: ComputeUnit = ComputeUnit.CPU,
    ) -> RunRequest:
        folder = tmp_path / sha[:8]
        path = folder / "tiny.mlpackage"
        if not path.exists():
            folder.mkdir(exist_ok=True)
            path = make_model(folder, "tiny", size)
        x = np.arange(6, dtype=np.float32).reshape(2, 3)
        return RunRequest(
            run_id=f"run-{next(counter):04d}",
            model=model_ref(sha),
            model_path=path,
            inputs={"x": x},
            compute_unit=compute_unit,
            config=RunConfig(warmup=2, iterations=5, timeout_s=timeout_s),
        )

    return build


@pytest.fixture
def config() -> IosConfig:
    return FAST_CONFIG


def fake_session(**scenario: object) -> FakeSession:
    device = FakeIPhone(
        "00008110-FAKE00000001",
        scenario=FakeScenario(**scenario),  # type: ignore[arg-type]
        predictor=doubling_predictor,
    )
    return FakeSession(device)
