"""The one module that calls Core ML through coremltools (macOS only).

coremltools exceptions are translated here into Pomar errors, so nothing else names them:
compile and load failures are :class:`ModelError`, a failing prediction is
:class:`PredictionFailed` (an ``InputsError``: on the Mac, the usual cause is an input that does
not fit the model).
"""

from __future__ import annotations

import platform
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from agent.devices.mac.compute_units import coremltools_name
from pomar_core.arrays import Arrays
from pomar_core.errors import DeviceNotReady, InputsError, ModelError
from pomar_core.wire import ComputePlanEntry, ComputeUnit


class PredictionFailed(InputsError):
    """Core ML refused or failed a prediction."""


class Predictor(Protocol):
    def predict(self, inputs: Arrays) -> Arrays: ...


class CoreMLBackend(Protocol):
    """What the Mac device needs from Core ML; :class:`CoreMLTools` is the real one and the
    tests pass a fake."""

    def compile(self, model_path: Path, into: Path) -> Path: ...

    def load(self, compiled: Path, unit: ComputeUnit, *, low_precision_gpu: bool) -> Predictor: ...

    def compute_plan(self, compiled: Path, unit: ComputeUnit) -> tuple[ComputePlanEntry, ...]: ...


def require_macos() -> None:
    """Raise :class:`DeviceNotReady` unless Core ML can run here."""
    if sys.platform != "darwin":
        raise DeviceNotReady(
            "the Mac device needs macOS and Core ML",
            hint="use the emulated device on this OS, or run the agent on a Mac",
        )
    try:
        from coremltools.libcoremlpython import _MLModelProxy  # noqa: F401
    except ImportError as exc:
        raise DeviceNotReady(
            f"coremltools has no Core ML bindings here ({exc})",
            hint="install the coremltools wheel for this macOS and Python",
        ) from exc


def macos_version() -> tuple[int, ...]:
    release = platform.mac_ver()[0]
    return tuple(int(part) for part in release.split(".") if part.isdigit())


class _CompiledPredictor:
    def __init__(self, model: Any) -> None:
        self._model = model

    def predict(self, inputs: Arrays) -> Arrays:
        try:
            raw = self._model.predict(inputs)
        except Exception as exc:  # coremltools raises bare Exception/RuntimeError
            raise PredictionFailed(f"Core ML prediction failed: {exc}") from exc
        return {name: np.asarray(value) for name, value in raw.items()}


class CoreMLTools:
    """Core ML on this Mac through coremltools' compiled-model API."""

    def compile(self, model_path: Path, into: Path) -> Path:
        """An ``.mlmodelc``: the model itself if already compiled, else compiled into ``into``."""
        if model_path.suffix == ".mlmodelc":
            return model_path
        from coremltools.models.utils import compile_model

        destination = into / "model.mlmodelc"
        shutil.rmtree(destination, ignore_errors=True)
        try:
            return Path(compile_model(str(model_path), str(destination)))
        except Exception as exc:
            raise ModelError(f"Core ML could not compile {model_path.name}: {exc}") from exc

    def load(self, compiled: Path, unit: ComputeUnit, *, low_precision_gpu: bool) -> Predictor:
        import coremltools as ct
        from coremltools.models import CompiledMLModel

        hints = {"allowLowPrecisionAccumulationOnGPU": True} if low_precision_gpu else None
        try:
            model = CompiledMLModel(
                str(compiled),
                compute_units=ct.ComputeUnit[coremltools_name(unit)],
                optimization_hints=hints,
            )
        except Exception as exc:
            raise ModelError(f"Core ML could not load the model on {unit.value}: {exc}") from exc
        return _CompiledPredictor(model)

    def compute_plan(self, compiled: Path, unit: ComputeUnit) -> tuple[ComputePlanEntry, ...]:
        import coremltools as ct
        from coremltools.models.compute_plan import MLComputePlan

        plan = MLComputePlan.load_from_path(
            str(compiled), compute_units=ct.ComputeUnit[coremltools_name(unit)]
        )
        return tuple(plan_entries(plan))


def plan_entries(plan: Any) -> list[ComputePlanEntry]:
    """Walk a coremltools ``MLComputePlan`` the way the app walks ``MLComputePlan``."""
    entries: list[ComputePlanEntry] = []

    def walk_block(block: Any, path: str) -> None:
        for index, op in enumerate(block.operations):
            label = op.outputs[0].name if op.outputs else f"op{index}"
            usage = plan.get_compute_device_usage_for_mlprogram_operation(op)
            cost = plan.get_estimated_cost_for_mlprogram_operation(op)
            entries.append(
                _entry(f"{path}/{label}", op.operator_name, usage, cost.weight if cost else None)
            )
            for nested, inner in enumerate(op.blocks):
                walk_block(inner, f"{path}/{label}/{nested}")

    def walk(structure: Any, prefix: str) -> None:
        if structure.program is not None:
            for name in sorted(structure.program.functions):
                walk_block(structure.program.functions[name].block, f"{prefix}{name}/0")
        elif structure.neuralnetwork is not None:
            for layer in structure.neuralnetwork.layers:
                usage = plan.get_compute_device_usage_for_neuralnetwork_layer(layer)
                entries.append(_entry(f"{prefix}{layer.name}", layer.type, usage, None))
        elif structure.pipeline is not None:
            for name, sub in structure.pipeline.sub_models:
                walk(sub, f"{prefix}{name}/")

    walk(plan.model_structure, "")
    return entries


def device_name(device: Any) -> str | None:
    """``cpu``/``gpu``/``ane`` for a coremltools compute device, by its class name."""
    kind = type(device).__name__
    return {
        "MLCPUComputeDevice": "cpu",
        "MLGPUComputeDevice": "gpu",
        "MLNeuralEngineComputeDevice": "ane",
    }.get(kind)


def _entry(op: str, op_type: str, usage: Any, weight: float | None) -> ComputePlanEntry:
    preferred = device_name(usage.preferred_compute_device) if usage is not None else None
    supported = (
        [device_name(d) for d in usage.supported_compute_devices] if usage is not None else []
    )
    return ComputePlanEntry(
        op=op,
        op_type=op_type,
        preferred=preferred or "unknown",
        supported=tuple(s for s in supported if s),
        cost_weight=weight,
    )


BackendFactory = Callable[[], CoreMLBackend]
