"""``EmulatedProgram``: a parsed ML program, planned once, executed many times.

Planning turns the MIL ``main`` function into a flat list of :class:`~agent.emulator.kernels.Step`
over integer environment slots: constants and decompressed weights are materialised once, every
op is bound to its kernel (or refused with ``UnsupportedOpError`` before anything runs), and each
slot's last consumer is known so intermediates are dropped as soon as they are dead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from agent.emulator.fallback import has_value_inference, value_inference_kernel
from agent.emulator.kernels import Binding, Kernel, OpArgs, Step, Tensor, lookup
from agent.emulator.loading import FeatureSpec, LoadedModel, load_model
from agent.emulator.memory import MemoryModel, plan_memory
from agent.emulator.precision import Precision, storage_dtype, torch_dtype
from agent.emulator.trace import Trace
from orchestrator.errors import InputsError, ModelError, UnsupportedOpError

Arrays = dict[str, npt.NDArray[Any]]

_CONTROL_FLOW = {"cond", "while_loop"}


class EmulatedProgram:
    """A Core ML ML program ready to run on the CPU. Build it with :func:`load_program`."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.inputs: tuple[FeatureSpec, ...] = loaded.inputs
        self.outputs: tuple[FeatureSpec, ...] = loaded.outputs
        function = loaded.function
        self.opset = _opset_name(function)
        self._slots: dict[str, int] = {}
        self._slot_names: list[str] = []
        self._consts: dict[int, Tensor] = {}
        self._const_declared: dict[int, torch.dtype] = {}
        self._input_slots: dict[str, int] = {}
        self._steps: list[Step] = []
        for name, var in function.inputs.items():
            self._input_slots[name] = self._slot(name)
            _ = var
        self._input_vars = dict(function.inputs)
        for op in function.operations:
            self._plan_op(op)
        self._output_slots = self._bind_outputs(function)
        self._steps = _with_last_use(self._steps, self._output_slots, self._consts)
        self.has_fp16_compute = any(
            dtype == torch.float16 for step in self._steps for dtype in step.output_dtypes
        )
        self._const_env: dict[Precision, list[Tensor | None]] = {}
        self._storage: dict[Precision, list[tuple[torch.dtype, ...]]] = {}
        self.last_peak_activation_bytes = 0
        """Live activation bytes at the peak of the most recent :meth:`predict`."""

    # -- planning ------------------------------------------------------------------------------

    def _slot(self, name: str) -> int:
        if name not in self._slots:
            self._slots[name] = len(self._slot_names)
            self._slot_names.append(name)
        return self._slots[name]

    def _plan_op(self, op: Any) -> None:
        op_type: str = op.op_type
        if op_type == "const" or op_type.startswith("constexpr_"):
            self._materialize(op)
            return
        opset = _op_opset(op, self.opset)
        if op.blocks or op_type in _CONTROL_FLOW:
            raise UnsupportedOpError(op_type, opset, detail="control flow is not emulated yet")
        kernel: Kernel | None = lookup(op_type)
        if kernel is None and has_value_inference(op):
            kernel = value_inference_kernel
        if kernel is None:
            raise UnsupportedOpError(op_type, opset)
        inputs: dict[str, Binding] = {}
        values: dict[str, Any] = {}
        for name, var in op.inputs.items():
            if isinstance(var, list | tuple):
                inputs[name] = tuple(self._bound(v, op) for v in var)
                continue
            if var.val is not None:
                values[name] = var.val
                if _is_text(var.val):
                    continue  # strings are parameters only, never tensors
            inputs[name] = self._bound(var, op)
        outputs = []
        dtypes = []
        shapes = []
        for out in op.outputs:
            if not hasattr(out, "dtype") or out.__class__.__name__ == "ListVar":
                raise UnsupportedOpError(op_type, opset, detail="list outputs are not emulated")
            outputs.append(self._slot(out.name))
            dtypes.append(_var_dtype(out, op_type, opset))
            shape = tuple(out.shape)
            shapes.append(shape if all(isinstance(d, int) for d in shape) else None)
        self._steps.append(
            Step(
                op=op,
                op_type=op_type,
                opset=opset,
                kernel=kernel,
                inputs=inputs,
                values=values,
                outputs=tuple(outputs),
                output_names=tuple(o.name for o in op.outputs),
                output_dtypes=tuple(dtypes),
                output_shapes=tuple(shapes),
            )
        )

    def _bound(self, var: Any, op: Any) -> int:
        if var.name not in self._slots:
            if var.val is not None:  # a value folded at load time with no producing op
                self._const(var.name, np.asarray(var.val), _var_dtype(var, op.op_type, ""))
            else:
                raise ModelError(f"op '{op.name}' reads '{var.name}' before it is defined")
        return self._slots[var.name]

    def _materialize(self, op: Any) -> None:
        if op.op_type == "const":
            values: tuple[Any, ...] = (op.outputs[0].val,)
        else:
            try:
                result = op.materialized_val_inference()
            except Exception as exc:  # a decoder that cannot run is an unsupported op, not a crash
                raise UnsupportedOpError(
                    op.op_type, _op_opset(op, self.opset), detail=f"cannot decode: {exc}"
                ) from exc
            values = result if isinstance(result, tuple) else (result,)
        for out, value in zip(op.outputs, values, strict=True):
            if value is None or _is_text(value):
                continue  # string parameters are read by kernels from ``Step.values``
            self._const(out.name, np.asarray(value), _var_dtype(out, op.op_type, ""))

    def _const(self, name: str, value: npt.NDArray[Any], declared: torch.dtype) -> None:
        slot = self._slot(name)
        self._consts[slot] = torch.from_numpy(np.ascontiguousarray(value).copy()).to(declared)
        self._const_declared[slot] = declared

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
    ) -> Arrays:
        """Run the program on ``inputs``; outputs keyed by output name, in the declared dtypes."""
        mode = Precision.parse(precision)
        env = list(self._constants(mode))
        storage = self._storage_dtypes(mode)
        for name, array in self._checked_inputs(inputs).items():
            declared = torch_dtype(array.dtype)
            tensor = torch.from_numpy(array)
            env[self._input_slots[name]] = tensor.to(
                storage_dtype(declared, mode, self.has_fp16_compute)
            )
        consts = self._consts
        live = sum(t.nbytes for slot, t in enumerate(env) if t is not None and slot not in consts)
        peak = live
        compute = mode.compute_dtype
        with torch.inference_mode():
            for step, dtypes in zip(self._steps, storage, strict=True):
                result = step.kernel(OpArgs(step, env, mode, compute))
                outs = (result,) if isinstance(result, Tensor) else tuple(result)
                if len(outs) != len(step.outputs):
                    raise RuntimeError(
                        f"kernel for {step.op_type} returned {len(outs)} outputs, "
                        f"the program declares {len(step.outputs)}"
                    )
                for index, slot in enumerate(step.outputs):
                    out = outs[index]
                    if out.dtype != dtypes[index]:
                        out = out.to(dtypes[index])
                    expected = step.output_shapes[index]
                    if expected is not None and out.shape != expected:
                        raise RuntimeError(
                            f"kernel for {step.op_type} ({step.output_names[index]}) produced "
                            f"shape {tuple(out.shape)}, the program declares {expected}"
                        )
                    env[slot] = out
                    live += out.nbytes
                    if trace is not None:
                        trace.record(step.output_names[index], step.op_type, out)
                if live > peak:
                    peak = live
                for slot in step.free_after:
                    freed = env[slot]
                    if freed is not None:
                        live -= freed.nbytes
                    env[slot] = None
        self.last_peak_activation_bytes = peak
        return {
            feature.name: _to_numpy(env[self._output_slots[feature.name]], feature.dtype)
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

    def _checked_inputs(self, inputs: Mapping[str, npt.NDArray[Any]]) -> Arrays:
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
            if not _shape_fits(array.shape, var_shape):
                raise InputsError(
                    f"input '{name}' has shape {tuple(array.shape)}, the model expects "
                    f"{_shape_text(var_shape)}",
                    hint="reshape the input or re-convert the model with flexible shapes",
                )
            if array.dtype != feature.dtype and not np.can_cast(
                array.dtype, feature.dtype, casting="same_kind"
            ):
                raise InputsError(
                    f"input '{name}' has dtype {array.dtype}, the model expects {feature.dtype}",
                    hint=f"pass a {feature.dtype} array",
                )
            checked[name] = np.ascontiguousarray(array, dtype=feature.dtype)
        return checked


def load_program(model: Any) -> EmulatedProgram:
    """Parse ``model`` (an ``MLModel`` or a path to ``.mlpackage``/``.mlmodel``) once."""
    if isinstance(model, EmulatedProgram):
        return model
    return EmulatedProgram(load_model(Path(model) if isinstance(model, str) else model))


def _with_last_use(
    steps: list[Step], outputs: Mapping[str, int], consts: Mapping[int, Tensor]
) -> list[Step]:
    keep = set(outputs.values()) | set(consts)
    last: dict[int, int] = {}
    for index, step in enumerate(steps):
        for binding in step.inputs.values():
            for slot in binding if isinstance(binding, tuple) else (binding,):
                last[slot] = index
        for slot in step.outputs:  # an output nobody reads dies where it is born
            last.setdefault(slot, index)
    free: dict[int, list[int]] = {}
    for slot, index in last.items():
        if slot not in keep:
            free.setdefault(index, []).append(slot)
    return [
        Step(**{**step.__dict__, "free_after": tuple(sorted(free.get(i, ())))})
        for i, step in enumerate(steps)
    ]


def _is_text(value: Any) -> bool:
    return isinstance(value, str) or np.asarray(value).dtype.kind in "OUS"


def _var_dtype(var: Any, op_type: str, opset: str) -> torch.dtype:
    from coremltools.converters.mil.mil import types

    try:
        return torch_dtype(np.dtype(types.nptype_from_builtin(var.dtype)))
    except (KeyError, TypeError) as exc:
        raise UnsupportedOpError(
            op_type, opset or None, detail=f"dtype {types.builtin_to_string(var.dtype)}"
        ) from exc


def _opset_name(function: Any) -> str:
    version = getattr(function, "opset_version", None)
    return str(getattr(version, "name", version)) if version is not None else "iOS15"


def _op_opset(op: Any, default: str) -> str:
    match = re.search(r"\.(iOS\d+)\.", type(op).__module__ + ".")
    return match.group(1) if match else default


def _shape_fits(actual: tuple[int, ...], declared: tuple[Any, ...]) -> bool:
    if len(actual) != len(declared):
        return False
    return all(not isinstance(d, int) or d == a for a, d in zip(actual, declared, strict=True))


def _shape_text(shape: tuple[Any, ...]) -> str:
    return "(" + ", ".join(str(d) if isinstance(d, int) else "?" for d in shape) + ")"


def _to_numpy(tensor: Tensor | None, dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    if tensor is None:
        raise RuntimeError("an output was freed before the end of the run")
    array = tensor.detach().numpy()
    return array.astype(dtype, copy=True)
