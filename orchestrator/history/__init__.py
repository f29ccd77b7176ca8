"""History: a job's results against a baseline job's (latency, memory, status, parity drift).

``compare_jobs(current, baseline, job_id=..., baseline_job_id=...)`` is pure; the baseline is
found in the store with :func:`last_with_label` (``--last-nightly``) or named by the user.
"""

from orchestrator.history.baseline import finished_results, last_with_label
from orchestrator.history.drift import (
    DriftThresholds,
    JobComparison,
    LatencyChange,
    MemoryChange,
    ParityDrift,
    RunComparison,
    compare_jobs,
    compare_runs,
)
from orchestrator.history.stats import BUCKETS, Shift, Trend, latency_shift, mann_whitney_greater

__all__ = [
    "BUCKETS",
    "DriftThresholds",
    "JobComparison",
    "LatencyChange",
    "MemoryChange",
    "ParityDrift",
    "RunComparison",
    "Shift",
    "Trend",
    "compare_jobs",
    "compare_runs",
    "finished_results",
    "last_with_label",
    "latency_shift",
    "mann_whitney_greater",
]
