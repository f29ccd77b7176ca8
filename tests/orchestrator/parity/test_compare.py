from __future__ import annotations

import numpy as np

from orchestrator.parity import compare
from pomar_core.wire import ParityReport, Verdict


def _ref() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "logits": rng.standard_normal((1, 10)).astype(np.float32),
        "features": rng.standard_normal((1, 4, 8, 8)).astype(np.float32),
    }


def test_fp16_rounding_passes_the_default_policy_on_the_neural_engine() -> None:
    ref = _ref()
    act = {k: v.astype(np.float16) for k, v in ref.items()}
    report = compare(ref, act, "default", precision="fp16", compute_unit="ane")
    assert report.verdict is Verdict.PASSED
    assert report.tolerance == "default"
    assert all(o.dtype == "float16" for o in report.outputs)


def test_fp16_rounding_fails_the_default_policy_for_fp32_on_the_cpu() -> None:
    ref = {"y": np.linspace(-3, 3, 1000, dtype=np.float32) ** 3}
    act = {"y": (ref["y"] * (1 + 3e-3)).astype(np.float32)}
    report = compare(ref, act, "default", precision="fp32", compute_unit="cpu")
    assert report.verdict is Verdict.FAILED
    assert any("relative_l2" in f for f in report.outputs[0].failures)


def test_a_missing_output_fails_with_a_reason_and_extra_outputs_are_ignored() -> None:
    ref = _ref()
    act = {"features": ref["features"], "extra": np.zeros(3)}
    report = compare(ref, act)
    logits = next(o for o in report.outputs if o.name == "logits")
    assert logits.verdict is Verdict.FAILED
    assert logits.actual_shape is None
    assert "missing" in logits.failures[0]
    assert [o.name for o in report.outputs] == ["logits", "features"]


def test_a_shape_mismatch_fails_clearly_without_a_crash() -> None:
    ref = {"y": np.zeros((1, 10), np.float32)}
    report = compare(ref, {"y": np.zeros((1, 9), np.float32)})
    out = report.outputs[0]
    assert out.verdict is Verdict.FAILED
    assert out.failures == ("shape (1, 9) differs from the reference's (1, 10)",)
    assert out.actual_shape == (1, 9)


def test_a_dropped_batch_axis_is_not_a_shape_mismatch() -> None:
    ref = {"y": np.arange(10, dtype=np.float32).reshape(1, 10)}
    report = compare(ref, {"y": np.arange(10, dtype=np.float32)})
    assert report.verdict is Verdict.PASSED


def test_overflow_to_inf_fails_and_says_where_and_how_many() -> None:
    ref = {"y": np.full((2, 3), 100.0, np.float32)}
    act = {"y": np.full((2, 3), 100.0, np.float16)}
    act["y"][1, 2] = np.inf
    out = compare(ref, act).outputs[0]
    assert out.verdict is Verdict.FAILED
    assert out.failures[0].startswith("1 non-finite values where the reference is finite")
    assert out.worst_index == (1, 2)
    assert out.metrics.actual_inf == 1


def test_int_outputs_pass_when_equal_and_fail_when_not() -> None:
    ref = {"ids": np.array([[3, 1, 4]], np.int32)}
    assert compare(ref, {"ids": ref["ids"].copy()}).verdict is Verdict.PASSED
    assert compare(ref, {"ids": np.array([[3, 1, 5]], np.int32)}).verdict is Verdict.FAILED


def test_classification_preset_fails_a_flipped_top1_that_value_metrics_would_pass() -> None:
    ref = {"probs": np.array([[0.500, 0.498, 0.002]], np.float32)}
    act = {"probs": np.array([[0.498, 0.500, 0.002]], np.float32)}
    assert compare(ref, act, "fp16").verdict is Verdict.PASSED
    report = compare(ref, act, "classification")
    assert report.verdict is Verdict.FAILED
    assert "top1_agreement 0 < 1" in report.outputs[0].failures


def test_report_round_trips_through_json_with_infinite_metrics() -> None:
    ref = {"y": np.ones(4, np.float32)}
    act = {"y": np.array([1, 1, np.inf, np.nan], np.float32)}
    report = compare(ref, act)
    again = ParityReport.model_validate_json(report.model_dump_json())
    assert again == report or again.model_dump_json() == report.model_dump_json()


def test_extra_outputs_are_listed_in_the_report_not_judged() -> None:
    ref = {"y": np.ones(3, np.float32)}
    report = compare(ref, {"y": np.ones(3, np.float32), "z_debug": np.zeros(2), "aux": np.ones(1)})
    assert report.verdict is Verdict.PASSED
    assert report.extra_outputs == ("aux", "z_debug")
    assert [o.name for o in report.outputs] == ["y"]


def test_a_dropped_size_one_axis_is_noted_without_failing() -> None:
    ref = {"y": np.arange(10, dtype=np.float32).reshape(1, 2, 5)}
    out = compare(ref, {"y": np.arange(10, dtype=np.float32).reshape(2, 5)}).outputs[0]
    assert out.verdict is Verdict.PASSED
    assert out.notes == ("shape (2, 5) compared as the reference's (1, 2, 5) (size-1 axes differ)",)
    assert out.failures == ()


def test_same_shapes_and_dtypes_carry_no_notes() -> None:
    ref = {"image": np.ones((1, 3, 4, 4), np.float32)}
    assert compare(ref, {"image": np.ones((1, 3, 4, 4), np.float32)}).outputs[0].notes == ()


def test_detected_class_scores_and_a_different_dtype_kind_are_noted() -> None:
    ref = {"logits": np.linspace(0, 1, 10, dtype=np.float32).reshape(1, 10)}
    notes = compare(ref, {"logits": ref["logits"].copy()}).outputs[0].notes
    assert any("class scores" in n for n in notes)
    ints = compare({"count": np.array([3.0], np.float32)}, {"count": np.array([3], np.int32)})
    assert ints.outputs[0].notes == ("int32 output compared with a float32 reference",)
