"""Parity: per-output metrics, tolerance policies, verdicts, triage, and budgets.

``compare(reference, actual, policy)`` gives the :class:`~pomar_core.wire.ParityReport` of a
run; ``triage(...)`` labels a failure; ``check_budgets(...)`` lists broken latency/memory budgets.
"""

from orchestrator.parity.budgets import check_budgets, format_bytes, unchecked_budgets
from orchestrator.parity.compare import compare, compare_output, shapes_match
from orchestrator.parity.metrics import MetricParams, TensorComparison, compare_tensors
from orchestrator.parity.policy import PRESETS, EffectiveRule, TolerancePolicy, load_policy
from orchestrator.parity.triage import OpStats, Triage, triage

__all__ = [
    "PRESETS",
    "EffectiveRule",
    "MetricParams",
    "OpStats",
    "TensorComparison",
    "TolerancePolicy",
    "Triage",
    "check_budgets",
    "compare",
    "compare_output",
    "compare_tensors",
    "format_bytes",
    "load_policy",
    "shapes_match",
    "triage",
    "unchecked_budgets",
]
