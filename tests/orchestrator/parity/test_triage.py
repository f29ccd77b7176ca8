from __future__ import annotations

import numpy as np

from orchestrator.parity import triage
from pomar_core.wire import TriageLabel


def _ref() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {"y": rng.standard_normal((1, 256)).astype(np.float32)}


def _noisy(ref: dict[str, np.ndarray], scale: float, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        k: (v + scale * rng.standard_normal(v.shape)).astype(np.float32) for k, v in ref.items()
    }


def test_a_passing_run_has_no_label() -> None:
    ref = _ref()
    assert triage(ref, ref).label is None


def test_shape_mismatch_is_labelled() -> None:
    result = triage(_ref(), {"y": np.zeros((1, 255), np.float32)})
    assert result.label is TriageLabel.SHAPE_MISMATCH
    assert "(1, 255)" in result.detail


def test_device_as_far_off_as_fp16_emulation_is_expected_precision_loss() -> None:
    ref = _ref()
    result = triage(ref, _noisy(ref, 0.1, 1), emulated_fp16=_noisy(ref, 0.1, 2))
    assert result.label is TriageLabel.FP16_EXPECTED


def test_device_far_beyond_the_emulation_noise_is_an_engine_mismatch() -> None:
    ref = _ref()
    result = triage(ref, _noisy(ref, 0.5, 1), emulated_fp16=_noisy(ref, 0.01, 2))
    assert result.label is TriageLabel.ENGINE_MISMATCH
    assert "emulation" in result.detail


def test_new_inf_is_overflow_and_names_the_first_overflowing_op_of_the_trace() -> None:
    ref = _ref()
    device = {"y": ref["y"].copy()}
    device["y"][0, :5] = np.inf
    trace = {
        "conv_0": {"nan_count": 0, "inf_count": 0},
        "mask": {"nan_count": 0, "inf_count": 3},  # -inf mask, also there in fp32
        "pow_1": {"nan_count": 0, "inf_count": 12},
        "softmax_2": {"nan_count": 4, "inf_count": 0},
    }
    fp32_trace = [{"name": "mask", "nan": 0, "inf": 3}]
    fp32_trace_objs = [type("S", (), {"name": "mask", "nan_count": 0, "inf_count": 3})()]
    for reference_trace in (fp32_trace, fp32_trace_objs):
        result = triage(ref, device, op_trace=trace, reference_trace=reference_trace)
        assert result.label is TriageLabel.FP16_OVERFLOW
        assert "'pow_1'" in result.detail
        assert "5 NaN/Inf" in result.detail


def test_cpu_only_passing_while_the_neural_engine_fails_is_a_compute_unit_mismatch() -> None:
    ref = _ref()
    result = triage(ref, _noisy(ref, 0.5, 1), compute_unit="ane", cpu_only=_noisy(ref, 1e-4, 2))
    assert result.label is TriageLabel.COMPUTE_UNIT_MISMATCH


def test_repeats_that_disagree_as_much_as_the_error_are_nondeterministic() -> None:
    ref = _ref()
    result = triage(ref, _noisy(ref, 0.5, 1), repeats=[_noisy(ref, 0.5, 2)])
    assert result.label is TriageLabel.NONDETERMINISTIC


def test_bit_identical_repeats_do_not_make_a_failure_nondeterministic() -> None:
    ref = _ref()
    device = _noisy(ref, 0.5, 1)
    result = triage(ref, device, repeats=[dict(device)], emulated_fp16=_noisy(ref, 0.01, 2))
    assert result.label is TriageLabel.ENGINE_MISMATCH


def test_without_evidence_the_label_is_unknown_and_says_what_is_missing() -> None:
    ref = _ref()
    result = triage(ref, _noisy(ref, 0.5, 1))
    assert result.label is TriageLabel.UNKNOWN
    assert "emulation" in result.detail
