"""The coremltools-suite runner classifies cases so that no wrong answer hides as a refusal."""

from __future__ import annotations

from benchmarks.coremltools_suite.plugin import _verdict
from benchmarks.coremltools_suite.run import summarise


def test_verdicts() -> None:
    assert _verdict("passed", [], xfail=False) == "no-predict"
    assert _verdict("failed", [], xfail=False) == "no-predict"
    assert _verdict("passed", ["answered"], xfail=False) == "match"
    assert _verdict("passed", ["refused"], xfail=False) == "match"  # the test expected the error
    assert _verdict("failed", ["answered"], xfail=False) == "wrong"
    assert _verdict("failed", ["answered", "unsupported"], xfail=False) == "unsupported"
    assert _verdict("failed", ["refused"], xfail=False) == "refused"
    assert _verdict("failed", ["answered"], xfail=True) == "xfail"


def test_summary_counts_only_cases_that_reach_predict() -> None:
    rows: list[dict[str, object]] = [
        {"verdict": v} for v in ["match"] * 18 + ["wrong", "unsupported", "no-predict", "xfail"]
    ]
    figures = summarise(rows)
    assert figures["reached_predict"] == 20
    assert figures["match"] == 18
    assert figures["match_percent"] == 90.0
    assert figures["wrong"] == 1
