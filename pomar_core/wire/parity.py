"""Parity: how far a run's outputs are from the reference, and the verdict."""

from __future__ import annotations

from enum import StrEnum

from pomar_core.wire.base import WireModel


class Verdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


class TriageLabel(StrEnum):
    """Whose fault a parity failure most likely is."""

    FP16_EXPECTED = "fp16_expected"
    FP16_OVERFLOW = "fp16_overflow"
    ENGINE_MISMATCH = "engine_mismatch"
    COMPUTE_UNIT_MISMATCH = "compute_unit_mismatch"
    NONDETERMINISTIC = "nondeterministic"
    SHAPE_MISMATCH = "shape_mismatch"
    UNKNOWN = "unknown"


class OutputMetrics(WireModel):
    """Error metrics of one output tensor against its reference.

    Metrics that do not apply (top-k of a non-score tensor, any metric after a shape mismatch)
    are None. Infinite values are allowed: JSON carries them as strings via ``ser_json_inf_nan``.
    """

    max_abs_error: float | None = None
    mean_abs_error: float | None = None
    relative_l2: float | None = None
    max_relative_error: float | None = None
    cosine_similarity: float | None = None
    snr_db: float | None = None
    psnr_db: float | None = None
    max_ulp: float | None = None
    share_outside_tolerance: float | None = None
    top1_agreement: float | None = None
    topk_overlap: float | None = None
    reference_nan: int = 0
    reference_inf: int = 0
    actual_nan: int = 0
    actual_inf: int = 0


class OutputParity(WireModel):
    """One output: its metrics, the rules it failed, and the worst element."""

    name: str
    reference_shape: tuple[int, ...]
    actual_shape: tuple[int, ...] | None
    dtype: str
    metrics: OutputMetrics
    verdict: Verdict
    failures: tuple[str, ...] = ()
    """One sentence per failed rule, e.g. ``relative_l2 0.31 > 0.05``."""
    notes: tuple[str, ...] = ()
    """Remarks that do not fail the output, e.g. a size-1 axis dropped to match shapes."""
    worst_index: tuple[int, ...] | None = None
    worst_reference: float | None = None
    worst_actual: float | None = None
    degenerate: str | None = None
    """Why this comparison cannot detect an error (a flat reference, all-zero error), if so."""


class ParityReport(WireModel):
    """Every output of one run compared with the reference, and the run's verdict."""

    reference_kind: str
    """E.g. ``source_fp32`` or ``emulator_fp32``; the report says which."""
    tolerance: str
    """The tolerance policy's name."""
    outputs: tuple[OutputParity, ...]
    verdict: Verdict
    extra_outputs: tuple[str, ...] = ()
    """Outputs the run produced that the reference does not have (not judged)."""
    triage: TriageLabel | None = None
    triage_detail: str | None = None
    """E.g. the first op whose output overflowed."""
