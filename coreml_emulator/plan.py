"""Planning: a MIL function (and its nested blocks) into steps over integer environment slots.

Constants and decompressed weights are materialised once, every op is bound to its kernel (or
refused with ``UnsupportedOpError`` before anything runs), control-flow ops (``cond``,
``while_loop``) carry their nested blocks planned the same way, and each slot's last consumer is
known so intermediates are dropped as soon as they are dead.

Liveness with nested blocks: a block frees only slots its own steps produce (never its inputs,
its outputs, or outer slots, which a loop reads again on the next iteration); a control-flow step
counts every outer slot read inside its blocks as one of its inputs (:attr:`Step.captures`), so
the enclosing block keeps those alive until the whole op has run.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from coreml_emulator.fallback import has_value_inference, value_inference_kernel
from coreml_emulator.kernel_table import lookup
from coreml_emulator.kernels import Binding, Block, Kernel, Step, Tensor
from coreml_emulator.precision import torch_dtype
from pomar_core.errors import ModelError, UnsupportedOpError

CONTROL_FLOW = {"cond": 2, "while_loop": 2}
"""Control-flow op types and the number of nested blocks each must have."""


def _control_flow_kernel(_args: Any) -> Tensor:  # pragma: no cover - the executor runs blocks
    raise AssertionError("control-flow steps are run by the executor, not as kernels")


class Planner:
    """Builds the plan of one function; holds the slot table and the constants."""

    def __init__(self, opset: str) -> None:
        self.opset = opset
        self.slots: dict[str, int] = {}
        self.slot_names: list[str] = []
        self.consts: dict[int, Tensor] = {}
        self.const_declared: dict[int, torch.dtype] = {}

    def slot(self, name: str) -> int:
        """The slot of the variable ``name``, allocated on first use."""
        if name not in self.slots:
            self.slots[name] = len(self.slot_names)
            self.slot_names.append(name)
        return self.slots[name]

    def plan_steps(self, operations: Iterable[Any]) -> list[Step]:
        """Steps for ``operations`` in order (constants are materialised, not stepped)."""
        steps: list[Step] = []
        for op in operations:
            step = self._plan_op(op)
            if step is not None:
                steps.append(step)
        return steps

    def plan_block(self, block: Any) -> Block:
        """A nested block: its inputs, steps with their own liveness, and outputs."""
        inputs = tuple(self.slot(var.name) for var in block.inputs)
        steps = self.plan_steps(block.operations)
        outputs = tuple(self.bound(var, None) for var in block.outputs)
        produced = {slot for step in steps for slot in step.outputs}
        keep = set(outputs) | set(inputs) | set(self.consts)
        return Block(inputs, tuple(with_last_use(steps, keep, local=produced)), outputs)

    def _plan_op(self, op: Any) -> Step | None:
        op_type: str = op.op_type
        if op_type == "const" or op_type.startswith("constexpr_"):
            self._materialize(op)
            return None
        opset = op_opset(op, self.opset)
        blocks: tuple[Block, ...] = ()
        kernel: Kernel | None
        if op_type in CONTROL_FLOW:
            if len(op.blocks) != CONTROL_FLOW[op_type]:
                raise UnsupportedOpError(
                    op_type, opset, detail=f"expected {CONTROL_FLOW[op_type]} nested blocks"
                )
            blocks = tuple(self.plan_block(block) for block in op.blocks)
            kernel = _control_flow_kernel
        elif op.blocks:
            raise UnsupportedOpError(op_type, opset, detail="nested blocks are not emulated")
        else:
            kernel = lookup(op_type)
            if kernel is None and has_value_inference(op):
                kernel = value_inference_kernel
            if kernel is None:
                raise UnsupportedOpError(op_type, opset)
        inputs: dict[str, Binding] = {}
        values: dict[str, Any] = {}
        for name, var in op.inputs.items():
            if name.startswith("_"):
                continue  # internal inputs (``_existing_blocks``) are not data
            if isinstance(var, list | tuple):
                inputs[name] = tuple(self.bound(v, op) for v in var)
                continue
            if var.val is not None:
                values[name] = var.val
                if is_text(var.val):
                    continue  # strings are parameters only, never tensors
            inputs[name] = self.bound(var, op)
        outputs, dtypes, shapes = [], [], []
        for out in op.outputs:
            if not hasattr(out, "dtype") or out.__class__.__name__ == "ListVar":
                raise UnsupportedOpError(op_type, opset, detail="list outputs are not emulated")
            outputs.append(self.slot(out.name))
            dtypes.append(var_dtype(out, op_type, opset))
            shape = tuple(out.shape)
            shapes.append(shape if all(isinstance(d, int) for d in shape) else None)
        return Step(
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
            blocks=blocks,
            captures=_captures(blocks),
        )

    def bound(self, var: Any, op: Any) -> int:
        """The slot ``var`` is read from; a folded value with no producer becomes a constant."""
        if var.name not in self.slots:
            if var.val is not None and not is_text(var.val):
                op_type = op.op_type if op is not None else "block output"
                self.const(var.name, np.asarray(var.val), var_dtype(var, op_type, ""))
            else:
                where = f"op '{op.name}'" if op is not None else "a block"
                raise ModelError(f"{where} reads '{var.name}' before it is defined")
        return self.slots[var.name]

    def _materialize(self, op: Any) -> None:
        if op.op_type == "const":
            values: tuple[Any, ...] = (op.outputs[0].val,)
        else:
            try:
                result = op.materialized_val_inference()
            except Exception as exc:  # a decoder that cannot run is an unsupported op, not a crash
                raise UnsupportedOpError(
                    op.op_type, op_opset(op, self.opset), detail=f"cannot decode: {exc}"
                ) from exc
            values = result if isinstance(result, tuple) else (result,)
        for out, value in zip(op.outputs, values, strict=True):
            if value is None or is_text(value):
                continue  # string parameters are read by kernels from ``Step.values``
            self.const(out.name, np.asarray(value), var_dtype(out, op.op_type, ""))

    def const(self, name: str, value: npt.NDArray[Any], declared: torch.dtype) -> None:
        """Hold ``value`` as the constant ``name`` (rank 0 stays rank 0)."""
        slot = self.slot(name)
        # np.ascontiguousarray would turn a rank-0 value into shape (1,).
        self.consts[slot] = torch.from_numpy(np.array(value, copy=True, order="C")).to(declared)
        self.const_declared[slot] = declared


def _captures(blocks: tuple[Block, ...]) -> tuple[int, ...]:
    """Outer slots read anywhere inside ``blocks`` (recursively)."""
    read: set[int] = set()
    for block in blocks:
        defined = set(block.inputs)
        for step in block.steps:
            for binding in step.inputs.values():
                read.update(binding if isinstance(binding, tuple) else (binding,))
            read.update(step.captures)
            defined.update(step.outputs)
        read.update(block.outputs)
        read -= defined
    return tuple(sorted(read))


def with_last_use(
    steps: list[Step], keep: set[int], *, local: set[int] | None = None
) -> list[Step]:
    """``steps`` with ``free_after`` set: each slot dies after its last reader.

    Slots in ``keep`` are never freed; with ``local`` given, only those slots may be freed.
    """
    last: dict[int, int] = {}
    for index, step in enumerate(steps):
        for binding in step.inputs.values():
            for slot in binding if isinstance(binding, tuple) else (binding,):
                last[slot] = index
        for slot in step.captures:
            last[slot] = index
        for slot in step.outputs:  # an output nobody reads dies where it is born
            last.setdefault(slot, index)
    free: dict[int, list[int]] = {}
    for slot, index in last.items():
        if slot not in keep and (local is None or slot in local):
            free.setdefault(index, []).append(slot)
    return [
        Step(**{**step.__dict__, "free_after": tuple(sorted(free.get(i, ())))})
        for i, step in enumerate(steps)
    ]


def is_text(value: Any) -> bool:
    return isinstance(value, str) or np.asarray(value).dtype.kind in "OUS"


def var_dtype(var: Any, op_type: str, opset: str) -> torch.dtype:
    """The torch dtype of a MIL variable; an unsupported dtype is an ``UnsupportedOpError``."""
    from coremltools.converters.mil.mil import types

    try:
        return torch_dtype(np.dtype(types.nptype_from_builtin(var.dtype)))
    except (KeyError, TypeError) as exc:
        raise UnsupportedOpError(
            op_type, opset or None, detail=f"dtype {types.builtin_to_string(var.dtype)}"
        ) from exc


def op_opset(op: Any, default: str) -> str:
    """The opset an op's definition belongs to (``iOS17``), from its class's module."""
    match = re.search(r"\.(iOS\d+)\.", type(op).__module__ + ".")
    return match.group(1) if match else default
