"""The kernel registry and the view of one op that a kernel receives.

A kernel is a plain function ``(args: OpArgs) -> Tensor | tuple[Tensor, ...]`` registered for one
or more MIL op types with :func:`kernel`. ``coreml_emulator/ops/__init__.py`` explains how to write
one; this module only holds the registry and :class:`OpArgs`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import torch

from coreml_emulator.precision import Precision

Tensor = torch.Tensor
KernelResult = Tensor | tuple[Tensor, ...] | list[Tensor]
Kernel = Callable[["OpArgs"], KernelResult]
K = TypeVar("K", bound=Kernel)

_REGISTRY: dict[str, Kernel] = {}


def kernel(*op_types: str) -> Callable[[K], K]:
    """Register the decorated function as the kernel of each MIL op type in ``op_types``."""

    def register(fn: K) -> K:
        for op_type in op_types:
            if op_type in _REGISTRY and _REGISTRY[op_type] is not fn:
                raise RuntimeError(f"two kernels registered for MIL op '{op_type}'")
            _REGISTRY[op_type] = fn
        return fn

    return register


def registered() -> dict[str, Kernel]:
    """The kernels registered so far (``kernel_table`` imports every family first)."""
    return _REGISTRY


Binding = int | tuple[int, ...]
"""Where an op input lives in the environment: one slot, or a tuple of slots."""


@dataclass(frozen=True)
class Step:
    """One op of the plan, with its inputs resolved to environment slots."""

    op: Any
    """The coremltools MIL ``Operation`` (read attributes and output types from it)."""
    op_type: str
    opset: str
    kernel: Kernel
    inputs: dict[str, Binding]
    values: dict[str, Any]
    """Inputs whose value is known before running (constants), as numpy values."""
    outputs: tuple[int, ...]
    output_names: tuple[str, ...]
    output_dtypes: tuple[torch.dtype, ...]
    """Declared dtype of each output."""
    output_shapes: tuple[tuple[int, ...] | None, ...]
    """Declared shape of each output when fully static, else ``None``."""
    free_after: tuple[int, ...] = field(default=())
    """Slots whose last consumer is this op."""
    blocks: tuple[Block, ...] = field(default=())
    """Nested blocks of a control-flow op (``cond``: true, false; ``while_loop``: cond, body)."""
    captures: tuple[int, ...] = field(default=())
    """Outer slots read inside :attr:`blocks` (they must stay alive until this op has run)."""
    memo: dict[Any, Any] = field(default_factory=dict, compare=False)
    """Per-op cache for kernels (see :meth:`OpArgs.memo`)."""
    storage: dict[Precision, tuple[torch.dtype, ...]] = field(default_factory=dict, compare=False)
    """Storage dtype of each output per precision mode, filled by the executor on first use."""


@dataclass(frozen=True)
class Block:
    """A nested MIL block: its input slots, its planned steps and the slots it returns."""

    inputs: tuple[int, ...]
    steps: tuple[Step, ...]
    outputs: tuple[int, ...]


class OpArgs:
    """What a kernel sees of one op: its inputs (as tensors or known values) and its types."""

    __slots__ = ("_compute", "_env", "_step", "precision")

    def __init__(
        self,
        step: Step,
        env: list[Tensor | None],
        precision: Precision,
        compute: torch.dtype | None = None,
    ) -> None:
        self._step = step
        self._env = env
        self.precision = precision
        self._compute = precision.compute_dtype if compute is None else compute

    @property
    def op(self) -> Any:
        """The MIL op, for anything not covered here (e.g. ``args.op.outputs[0].shape``)."""
        return self._step.op

    @property
    def op_type(self) -> str:
        return self._step.op_type

    @property
    def opset(self) -> str:
        return self._step.opset

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype floating arithmetic runs in (fp32, or fp16 in ``fp16-strict``)."""
        return self._compute

    def has(self, name: str) -> bool:
        """Whether the op was given input ``name`` (optional inputs may be absent)."""
        return name in self._step.inputs or name in self._step.values

    def is_const(self, name: str) -> bool:
        """Whether input ``name`` is known before running (a constant or a folded value)."""
        return name in self._step.values

    def _load(self, slot: int) -> Tensor:
        value = self._env[slot]
        if value is None:  # the plan freed it too early: a bug in the emulator, never silent
            raise RuntimeError(f"slot {slot} read after free in op {self._step.op.name}")
        if value.dtype != self._compute and value.is_floating_point():
            return value.to(self._compute)
        return value

    def tensor(self, name: str) -> Tensor:
        """Input ``name`` as a tensor; floating tensors arrive in :attr:`compute_dtype`."""
        binding = self._step.inputs[name]
        if isinstance(binding, tuple):
            raise TypeError(f"input {name!r} of {self.op_type} is a tuple; use tensors()")
        return self._load(binding)

    def optional_tensor(self, name: str) -> Tensor | None:
        """Input ``name`` as a tensor, or ``None`` when the op was not given it."""
        return self.tensor(name) if name in self._step.inputs else None

    def tensors(self, name: str) -> list[Tensor]:
        """A tuple input (``concat``'s ``values``) as a list of tensors."""
        binding = self._step.inputs[name]
        slots = binding if isinstance(binding, tuple) else (binding,)
        return [self._load(slot) for slot in slots]

    def value(self, name: str, default: Any = None) -> Any:
        """Input ``name`` as a numpy value (constants are free; a runtime tensor is copied out).

        Returns ``default`` when the op was not given the input.
        """
        if name in self._step.values:
            return self._step.values[name]
        if name not in self._step.inputs:
            return default
        binding = self._step.inputs[name]
        if isinstance(binding, tuple):
            return [self._load(slot).numpy() for slot in binding]
        return self._load(binding).numpy()

    def int(self, name: str, default: int | None = None) -> int:
        value = self.value(name, default)
        if value is None:
            raise KeyError(f"op {self.op_type} has no input {name!r}")
        return int(value)

    def ints(self, name: str, default: Sequence[builtins.int] | None = None) -> list[builtins.int]:
        value = self.value(name, default)
        if value is None:
            raise KeyError(f"op {self.op_type} has no input {name!r}")
        return [builtins.int(v) for v in np.asarray(value).reshape(-1)]

    def float(self, name: str, default: builtins.float | None = None) -> builtins.float:
        value = self.value(name, default)
        if value is None:
            raise KeyError(f"op {self.op_type} has no input {name!r}")
        return builtins.float(value)

    def bool(self, name: str, default: builtins.bool | None = None) -> builtins.bool:
        value = self.value(name, default)
        if value is None:
            raise KeyError(f"op {self.op_type} has no input {name!r}")
        return builtins.bool(value)

    def str(self, name: str, default: builtins.str | None = None) -> builtins.str:
        value = self.value(name, default)
        if value is None:
            raise KeyError(f"op {self.op_type} has no input {name!r}")
        return builtins.str(value)

    def memo(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()`` cached on this op under ``key`` (include input shapes in the key).

        For work that depends only on constants and shapes, such as resolving slice bounds.
        """
        memo = self._step.memo
        if key not in memo:
            memo[key] = make()
        return memo[key]

    def output_dtype(self, index: builtins.int = 0) -> torch.dtype:
        """The dtype the program declares for output ``index``."""
        return self._step.output_dtypes[index]

    def output_shape(self, index: builtins.int = 0) -> tuple[builtins.int, ...] | None:
        """The static shape the program declares for output ``index`` (``None`` if symbolic)."""
        return self._step.output_shapes[index]


def as_numpy(tensor: Tensor) -> npt.NDArray[Any]:
    """A numpy view of a CPU tensor (copies only bfloat16, which numpy lacks)."""
    return tensor.detach().numpy()
