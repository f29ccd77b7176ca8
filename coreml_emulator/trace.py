"""Per-op tracing: what every MIL variable held during one run, and where two runs part ways.

Pass a :class:`Trace` to ``predict(..., trace=...)``. It records, per MIL variable name in op
order, summary statistics (always) and the full tensor (with ``keep_tensors=True``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import torch


@dataclass(frozen=True)
class TensorStats:
    """Summary of one variable. ``min``/``max``/``abs_max`` are over its finite values."""

    name: str
    op_type: str
    dtype: str
    shape: tuple[int, ...]
    min: float
    max: float
    abs_max: float
    mean: float
    nan_count: int
    inf_count: int

    @property
    def finite(self) -> bool:
        return self.nan_count == 0 and self.inf_count == 0


class Trace:
    """A record of every op output of one run, in execution order."""

    def __init__(self, *, keep_tensors: bool = False) -> None:
        self.keep_tensors = keep_tensors
        self.stats: dict[str, TensorStats] = {}
        self.tensors: dict[str, npt.NDArray[Any]] = {}

    def record(self, name: str, op_type: str, tensor: torch.Tensor) -> None:
        """Add one variable (called by the executor after each op)."""
        self.stats[name] = summarize(name, op_type, tensor)
        if self.keep_tensors:
            self.tensors[name] = tensor.detach().clone().numpy()

    def __iter__(self) -> Iterator[TensorStats]:
        return iter(self.stats.values())

    def __len__(self) -> int:
        return len(self.stats)

    def __getitem__(self, name: str) -> TensorStats:
        return self.stats[name]

    def first_nonfinite(self) -> TensorStats | None:
        """The first variable, in op order, that holds a NaN or an Inf."""
        return next((s for s in self.stats.values() if not s.finite), None)


def summarize(name: str, op_type: str, tensor: torch.Tensor) -> TensorStats:
    """Statistics of one tensor; floats are summarised in fp32 (fp64 for wider types)."""
    t = tensor.detach()
    if t.dtype == torch.bool or not t.is_floating_point():
        t = t.to(torch.float64)
    elif t.dtype != torch.float64:
        t = t.to(torch.float32)
    nan = int(torch.isnan(t).sum()) if t.numel() else 0
    inf = int(torch.isinf(t).sum()) if t.numel() else 0
    finite = t[torch.isfinite(t)] if (nan or inf) else t.reshape(-1)
    if finite.numel():
        lo, hi = float(finite.min()), float(finite.max())
        mean = float(finite.mean())
    else:
        lo = hi = mean = math.nan
    return TensorStats(
        name=name,
        op_type=op_type,
        dtype=str(tensor.dtype).removeprefix("torch."),
        shape=tuple(tensor.shape),
        min=lo,
        max=hi,
        abs_max=max(abs(lo), abs(hi)) if finite.numel() else math.nan,
        mean=mean,
        nan_count=nan,
        inf_count=inf,
    )


@dataclass(frozen=True)
class Divergence:
    """Where two traces of the same program first disagree beyond tolerance."""

    name: str
    op_type: str
    error: float
    """Relative L2 error with full tensors; relative difference of stats otherwise."""
    reason: str
    left: TensorStats
    right: TensorStats


def first_divergence(left: Trace, right: Trace, *, tolerance: float = 1e-2) -> Divergence | None:
    """The first variable (in ``left``'s op order) whose value differs between the traces.

    A change in NaN/Inf counts always counts as divergence. With full tensors in both traces the
    error is the relative L2 error ``|a-b|/|a|`` over finite entries; otherwise it is the larger
    relative difference of ``abs_max`` and ``mean`` (a coarser signal).
    """
    for name, a in left.stats.items():
        b = right.stats.get(name)
        if b is None:
            continue
        if (a.nan_count, a.inf_count) != (b.nan_count, b.inf_count):
            reason = (
                f"NaN/Inf counts differ: {a.nan_count}/{a.inf_count} vs {b.nan_count}/{b.inf_count}"
            )
            return Divergence(name, a.op_type, math.inf, reason, a, b)
        if name in left.tensors and name in right.tensors:
            error = _relative_l2(left.tensors[name], right.tensors[name])
            reason = f"relative L2 error {error:.3g}"
        else:
            error = max(_rel(a.abs_max, b.abs_max), _rel(a.mean, b.mean, scale=a.abs_max))
            reason = f"statistics differ by {error:.3g} (relative)"
        if error > tolerance:
            return Divergence(name, a.op_type, error, reason, a, b)
    return None


def _relative_l2(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> float:
    if a.shape != b.shape:
        return math.inf
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    mask = np.isfinite(x) & np.isfinite(y)
    x, y = x[mask], y[mask]
    norm = float(np.linalg.norm(x))
    diff = float(np.linalg.norm(x - y))
    if norm == 0.0:
        return 0.0 if diff == 0.0 else math.inf
    return diff / norm


def _rel(a: float, b: float, *, scale: float | None = None) -> float:
    if math.isnan(a) and math.isnan(b):
        return 0.0
    denom = max(abs(a) if scale is None else abs(scale), 1e-12)
    return abs(a - b) / denom
