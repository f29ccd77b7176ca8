"""Running planned steps: kernels, dtype and shape contracts, freeing, tracing, control flow.

A kernel that fails, or returns something other than what the program declares, becomes an
``UnsupportedOpError`` naming the op, its opset and its output variable: an emulator bug must
never reach a user as a traceback, and never as a silently wrong answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from coreml_emulator.kernels import Binding, Block, OpArgs, Step, Tensor
from coreml_emulator.precision import Precision, storage_dtype
from coreml_emulator.trace import Trace
from pomar_core.errors import PomarError, UnsupportedOpError

MAX_LOOP_ITERATIONS = 1_000_000
"""A ``while_loop`` running longer than this is reported instead of hanging the host."""


class Execution:
    """One prediction's state: the environment, the precision mode, the live-byte count."""

    def __init__(
        self,
        env: list[Tensor | None],
        mode: Precision,
        program_has_fp16: bool,
        trace: Trace | None,
        live: int,
    ) -> None:
        self.env = env
        self.mode = mode
        self.compute = mode.compute_dtype
        self.has_fp16 = program_has_fp16
        self.trace = trace
        self.live = live
        self.peak = live
        self._depth = 0

    def run(self, steps: Sequence[Step]) -> None:
        """Run ``steps`` in order, freeing each slot after its last reader."""
        env = self.env
        for step in steps:
            outs = self._control(step) if step.blocks else self._kernel(step)
            dtypes = step.storage.get(self.mode)
            if dtypes is None:
                dtypes = tuple(
                    storage_dtype(d, self.mode, self.has_fp16) for d in step.output_dtypes
                )
                step.storage[self.mode] = dtypes
            for index, slot in enumerate(step.outputs):
                out = outs[index]
                if out.dtype != dtypes[index]:
                    out = out.to(dtypes[index])
                expected = step.output_shapes[index]
                if expected is not None and out.shape != expected:
                    raise _kernel_bug(
                        step,
                        f"produced shape {tuple(out.shape)} for '{step.output_names[index]}', "
                        f"the program declares {expected}",
                    )
                env[slot] = out
                if self._depth == 0:
                    self.live += out.nbytes
                if self.trace is not None:
                    self.trace.record(step.output_names[index], step.op_type, out)
            if self._depth == 0:
                # Inside blocks bytes are not counted: a loop rewrites the same slots.
                if self.live > self.peak:
                    self.peak = self.live
                for slot in step.free_after:
                    freed = env[slot]
                    if freed is not None:
                        self.live -= freed.nbytes
                    env[slot] = None
            else:
                for slot in step.free_after:
                    env[slot] = None

    def _kernel(self, step: Step) -> tuple[Tensor, ...]:
        try:
            result = step.kernel(OpArgs(step, self.env, self.mode, self.compute))
        except PomarError:
            raise
        except Exception as exc:
            raise _kernel_bug(step, f"failed: {type(exc).__name__}: {exc}") from exc
        outs = (result,) if isinstance(result, Tensor) else tuple(result)
        if len(outs) != len(step.outputs):
            raise _kernel_bug(
                step, f"returned {len(outs)} outputs, the program declares {len(step.outputs)}"
            )
        return outs

    def _control(self, step: Step) -> tuple[Tensor, ...]:
        self._depth += 1
        try:
            if step.op_type == "cond":
                branch = (
                    step.blocks[0] if self._truth(step, step.inputs["pred"]) else step.blocks[1]
                )
                self.run(branch.steps)
                return self._read(step, branch.outputs)
            return self._while_loop(step)
        finally:
            self._depth -= 1

    def _while_loop(self, step: Step) -> tuple[Tensor, ...]:
        cond, body = step.blocks
        values = self._read(step, _slots(step.inputs["loop_vars"]))
        for _ in range(MAX_LOOP_ITERATIONS):
            self._bind(cond, values)
            self.run(cond.steps)
            if not self._truth(step, cond.outputs[0]):
                return values
            self._bind(body, values)
            self.run(body.steps)
            values = self._read(step, body.outputs)
        raise UnsupportedOpError(
            step.op_type,
            step.opset,
            detail=f"'{step.output_names[0]}' ran {MAX_LOOP_ITERATIONS} iterations without ending",
        )

    def _bind(self, block: Block, values: tuple[Tensor, ...]) -> None:
        for slot, value in zip(block.inputs, values, strict=True):
            self.env[slot] = value

    def _read(self, step: Step, slots: Sequence[int]) -> tuple[Tensor, ...]:
        values = []
        for slot in slots:
            value = self.env[slot]
            if value is None:
                raise _kernel_bug(step, f"read '{step.output_names[0]}' state after it was freed")
            values.append(value)
        return tuple(values)

    def _truth(self, step: Step, binding: Binding | int) -> bool:
        (value,) = self._read(step, _slots(binding))
        if value.numel() != 1:
            # A multi-element predicate has no defined truth value in MIL: refuse, never guess.
            raise UnsupportedOpError(
                step.op_type,
                step.opset,
                detail=f"predicate of '{step.output_names[0]}' has shape {tuple(value.shape)}",
            )
        return bool(value.reshape(()).item())


def _slots(binding: Binding) -> tuple[int, ...]:
    return binding if isinstance(binding, tuple) else (binding,)


def _kernel_bug(step: Step, what: str) -> UnsupportedOpError:
    return UnsupportedOpError(
        step.op_type,
        step.opset,
        detail=f"the emulator's kernel for '{step.output_names[0]}' {what}",
    )


_ = torch
