"""The running totals of one chunk of a tensor comparison."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Chunk:
    """One chunk's contribution, added to the totals only once it is known to be sound."""

    pairs: int = 0
    sum_abs: float = 0.0
    sum_d2: float = 0.0
    sum_r2: float = 0.0
    sum_a2: float = 0.0
    max_abs: float = -1.0
    worst: int = -1
    max_rel: float = 0.0
    max_ulp: float = 0.0
    outside: int = 0
    ref_nan: int = 0
    ref_inf: int = 0
    act_nan: int = 0
    act_inf: int = 0
    mismatch: int = 0
    first_mismatch: int = -1
    new_nonfinite: int = 0
    infinite_error: bool = False
