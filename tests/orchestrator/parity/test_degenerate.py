"""A comparison that cannot detect an error is called out on the result."""

from __future__ import annotations

import numpy as np
import pytest

from orchestrator.parity import compare
from orchestrator.parity.degenerate import ADVICE, degenerate_reason
from pomar_core.wire import OutputMetrics

RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    ("reference", "words"),
    [
        (np.zeros((2, 8), np.float32), "all zeros"),
        (np.full((4,), 0.25, np.float32), "constant"),
        (np.float32(1000) + np.linspace(0, 1e-4, 50, dtype=np.float32), "no dynamic range"),
    ],
)
def test_flat_references_are_degenerate(reference: np.ndarray, words: str) -> None:
    reason = degenerate_reason(reference)
    assert reason is not None
    assert words in reason
    assert ADVICE in reason


def test_a_varied_reference_is_not() -> None:
    assert degenerate_reason(RNG.standard_normal((3, 5)).astype(np.float32)) is None
    assert degenerate_reason(np.arange(10, dtype=np.int32)) is None


def test_all_zero_error_metrics_are_degenerate_for_floats_only() -> None:
    exact = OutputMetrics(max_abs_error=0.0, mean_abs_error=0.0, relative_l2=0.0)
    varied = RNG.standard_normal(16).astype(np.float32)
    assert "exactly zero" in (degenerate_reason(varied, exact) or "")
    assert degenerate_reason(np.arange(16, dtype=np.int32), exact) is None


def test_compare_puts_the_warning_on_the_output() -> None:
    reference = {"collapsed": np.zeros((1, 10), np.float32), "fine": RNG.random(10)}
    actual = {"collapsed": np.zeros((1, 10), np.float16), "fine": reference["fine"] + 1e-3}
    report = compare(reference, actual, precision="fp16")
    by_name = {o.name: o for o in report.outputs}
    assert by_name["collapsed"].degenerate is not None
    assert by_name["fine"].degenerate is None
