"""``EmulatedProgram``: a parsed ML program, planned once, executed many times.

Planning (:mod:`coreml_emulator.plan`) turns the MIL ``main`` function into steps over integer
environment slots; :mod:`coreml_emulator.executor` runs them. This module is the public face:
inputs in, outputs by name out, the memory model.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from coreml_emulator.executor import Execution
from coreml_emulator.kernels import Step, Tensor
from coreml_emulator.loading import FeatureSpec, LoadedModel, load_model
from coreml_emulator.memory import MemoryModel, plan_memory
from coreml_emulator.plan import Planner, with_last_use
from coreml_emulator.precision import Precision, output_dtype, storage_dtype, torch_dtype
from coreml_emulator.trace import Trace
from pomar_core.arrays import Arrays
from pomar_core.errors import InputsError, ModelError


class EmulatedProgram:
    """A Core ML ML program ready to run on the CPU. Build it with :func:`load_program`."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.inputs: tuple[FeatureSpec, ...] = loaded.inputs
        self.outputs: tuple[FeatureSpec, ...] = loaded.outputs
        function = loaded.function
        self.opset = _opset_name(function)
        planner = Planner(self.opset)
        self._input_slots: dict[str, int] = {name: planner.slot(name) for name in function.inputs}
        self._input_vars = dict(function.inputs)
        steps = planner.plan_steps(function.operations)
        self._slots = planner.slots
        self._slot_names = planner.slot_names
        self._consts: dict[int, Tensor] = planner.consts
        self._const_declared: dict[int, torch.dtype] = planner.const_declared
        self._output_slots = self._bind_outputs(function)
        self._steps = with_last_use(steps, set(self._output_slots.values()) | set(self._consts))
        self.has_fp16_compute = any(
            dtype == torch.float16
            for step in _all_steps(self._steps)
            for dtype in step.output_dtypes
        )
        self._const_env: dict[Precision, list[Tensor | None]] = {}
        self._storage: dict[Precision, list[tuple[torch.dtype, ...]]] = {}
        self.last_peak_activation_bytes = 0
        """Live activation bytes at the peak of the most recent :meth:`predict`."""

    def _bind_outputs(self, function: Any) -> dict[str, int]:
        by_var = {var.name: self._slots[var.name] for var in function.outputs}
        ordered = [var.name for var in function.outputs]
        slots: dict[str, int] = {}
        for index, feature in enumerate(self.outputs):
            if feature.name in by_var:
                slots[feature.name] = by_var[feature.name]
            elif index < len(ordered):
                slots[feature.name] = by_var[ordered[index]]
            else:
                raise ModelError(f"output '{feature.name}' is not produced by the ML program")
        return slots

    # -- running -------------------------------------------------------------------------------

    @property
    def op_types(self) -> list[str]:
        """The op types the program runs, in order (constants excluded)."""
        return [step.op_type for step in self._steps]

    def predict(
        self,
        inputs: Mapping[str, npt.NDArray[Any]],
        *,
        precision: str | Precision = "fp32",
        trace: Trace | None = None,
        convert_inputs: bool = False,
    ) -> Arrays:
        """Run the program on ``inputs``; outputs keyed by output name, in the declared dtypes.

        A rank-0 output comes back with shape ``(1,)``, as Core ML returns it. Inputs must have
        the declared dtype (or cast to it without changing kind); with ``convert_inputs`` any
        numeric array is converted to the declared type as Core ML converts an ``MLMultiArray``
        (floats to integers truncate toward zero).
        """
        mode = Precision.parse(precision)
        env = list(self._constants(mode))
        for name, array in self._checked_inputs(inputs, mode, convert_inputs).items():
            declared = torch_dtype(array.dtype)
            tensor = torch.from_numpy(array)
            env[self._input_slots[name]] = tensor.to(
                storage_dtype(declared, mode, self.has_fp16_compute)
            )
        consts = self._consts
        live = sum(t.nbytes for slot, t in enumerate(env) if t is not None and slot not in consts)
        execution = Execution(env, mode, self.has_fp16_compute, trace, live)
        with torch.inference_mode():
            execution.run(self._steps)
        self.last_peak_activation_bytes = execution.peak
        return {
            feature.name: _to_numpy(
                env[self._output_slots[feature.name]], output_dtype(feature.dtype, mode)
            )
            for feature in self.outputs
        }

    def memory_model(self, precision: str | Precision = "fp32") -> MemoryModel:
        """Weight bytes and peak live activation bytes under the op order, for ``precision``."""
        mode = Precision.parse(precision)
        input_dtypes = {
            name: storage_dtype(torch_dtype(f.dtype), mode, self.has_fp16_compute)
            for f in self.inputs
            for name in (f.name,)
        }
        return plan_memory(
            steps=self._steps,
            storage=self._storage_dtypes(mode),
            weights={
                slot: storage_dtype(dtype, mode, self.has_fp16_compute)
                for slot, dtype in self._const_declared.items()
            },
            const_numel={slot: t.numel() for slot, t in self._consts.items()},
            inputs={
                self._input_slots[name]: (tuple(self._input_vars[name].shape), dtype)
                for name, dtype in input_dtypes.items()
                if name in self._input_slots
            },
            precision=mode,
        )

    def _constants(self, mode: Precision) -> list[Tensor | None]:
        if mode not in self._const_env:
            env: list[Tensor | None] = [None] * len(self._slot_names)
            for slot, tensor in self._consts.items():
                value = tensor
                if value.is_floating_point():
                    stored = storage_dtype(value.dtype, mode, self.has_fp16_compute)
                    # Held in compute form so kernels never convert weights per call.
                    value = value.to(stored).to(mode.compute_dtype)
                env[slot] = value
            self._const_env[mode] = env
        return self._const_env[mode]

    def _storage_dtypes(self, mode: Precision) -> list[tuple[torch.dtype, ...]]:
        if mode not in self._storage:
            self._storage[mode] = [
                tuple(storage_dtype(d, mode, self.has_fp16_compute) for d in step.output_dtypes)
                for step in self._steps
            ]
        return self._storage[mode]

    def _checked_inputs(
        self, inputs: Mapping[str, npt.NDArray[Any]], mode: Precision, convert: bool
    ) -> Arrays:
        expected = {f.name: f for f in self.inputs}
        missing = sorted(set(expected) - set(inputs))
        extra = sorted(set(inputs) - set(expected))
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(missing)}")
            if extra:
                parts.append(f"unexpected {', '.join(extra)}")
            raise InputsError(
                f"inputs do not match the model: {'; '.join(parts)}",
                hint=f"the model takes: {', '.join(expected)}",
            )
        checked: Arrays = {}
        for name, feature in expected.items():
            array = np.asarray(inputs[name])
            var_shape = tuple(self._input_vars[name].shape)
            if not var_shape and array.shape == (1,):
                array = array.reshape(())  # a scalar input passed as Core ML passes it
            if not _shape_fits(array.shape, var_shape):
                raise InputsError(
                    f"input '{name}' has shape {tuple(array.shape)}, the model expects "
                    f"{_shape_text(var_shape)}",
                    hint="reshape the input or re-convert the model with flexible shapes",
                )
            outside = feature.shape_error(tuple(array.shape))
            if outside is not None:
                raise InputsError(
                    f"input '{name}': {outside}",
                    hint="pass a shape the model declares, or re-convert with a wider RangeDim "
                    "or more enumerated shapes",
                )
            if convert and array.dtype != feature.dtype and array.dtype.kind in "biuf":
                array = array.astype(feature.dtype)
            if array.dtype != feature.dtype and not np.can_cast(
                array.dtype, feature.dtype, casting="same_kind"
            ):
                raise InputsError(
                    f"input '{name}' has dtype {array.dtype}, the model expects {feature.dtype}",
                    hint=f"pass a {feature.dtype} array",
                )
            dtype = feature.dtype
            if mode is Precision.FP32_UPCAST and array.dtype == np.float32:
                dtype = array.dtype  # an fp16 input given in fp32 keeps its fp32 precision
            # np.require, unlike np.ascontiguousarray, keeps a rank-0 array rank 0.
            checked[name] = np.require(array.astype(dtype, copy=False), requirements="C")
        return checked


def load_program(model: Any) -> EmulatedProgram:
    """Parse ``model`` (an ``MLModel`` or a path to ``.mlpackage``/``.mlmodel``) once."""
    if isinstance(model, EmulatedProgram):
        return model
    return EmulatedProgram(load_model(Path(model) if isinstance(model, str) else model))


def _opset_name(function: Any) -> str:
    version = getattr(function, "opset_version", None)
    return str(getattr(version, "name", version)) if version is not None else "iOS15"


def _shape_fits(actual: tuple[int, ...], declared: tuple[Any, ...]) -> bool:
    if len(actual) != len(declared):
        return False
    return all(not isinstance(d, int) or d == a for a, d in zip(actual, declared, strict=True))


def _shape_text(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) if isinstance(d, int) else "?" for d in shape) + ")"


def _all_steps(steps: Sequence[Step]) -> Iterator[Step]:
    for step in steps:
        yield step
        for block in step.blocks:
            yield from _all_steps(block.steps)


def _to_numpy(tensor: Tensor | None, dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    if tensor is None:  # the plan keeps outputs alive; reaching this is an emulator bug
        raise ModelError("an output of the ML program was freed before the end of the run")
    array = tensor.detach().numpy()
    if array.ndim == 0:  # Core ML has no rank-0 multi-arrays: a scalar comes back as (1,)
        array = array.reshape(1)
    return array.astype(dtype, copy=True)
