from __future__ import annotations

import math

import numpy as np
import pytest

from orchestrator.parity.metrics import MetricParams, compare_tensors, looks_like_scores
from orchestrator.parity.ulp import ulp_distance, ulp_distance_max


def test_identical_outputs_have_zero_error_and_infinite_snr() -> None:
    x = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    m = compare_tensors(x, x.copy()).metrics
    assert m.max_abs_error == 0
    assert m.relative_l2 == 0
    assert m.cosine_similarity == pytest.approx(1.0)
    assert m.snr_db == math.inf
    assert m.psnr_db == math.inf
    assert m.max_ulp == 0
    assert m.share_outside_tolerance == 0


def test_hand_computed_metrics_match() -> None:
    ref = np.array([1.0, -2.0, 0.0, 4.0], np.float32)
    act = np.array([1.5, -2.0, 0.1, 4.0], np.float32)
    c = compare_tensors(ref, act, MetricParams(atol=0.2, rtol=0.0, relative_floor=0.1))
    m = c.metrics
    assert m.max_abs_error == pytest.approx(0.5)
    assert m.mean_abs_error == pytest.approx(0.15, rel=1e-6)
    d2, r2 = 0.25 + 0.01, 1 + 4 + 16
    assert m.relative_l2 == pytest.approx(math.sqrt(d2 / r2), rel=1e-6)
    cos = float(ref @ act) / (np.linalg.norm(ref) * np.linalg.norm(act))
    assert m.cosine_similarity == pytest.approx(cos, rel=1e-6)
    assert m.snr_db == pytest.approx(10 * math.log10(r2 / d2), rel=1e-6)
    assert m.psnr_db == pytest.approx(10 * math.log10(16 * 4 / d2), rel=1e-6)
    # floor = 0.1 * peak 4 = 0.4: the 0.1 error on the zero reference counts as 0.25, and the
    # 0.5 error on 1.0 counts as 0.5.
    assert m.max_relative_error == pytest.approx(0.5, rel=1e-6)
    assert m.share_outside_tolerance == pytest.approx(0.25)
    assert c.worst_index == (0,)
    assert (c.worst_reference, c.worst_actual) == (1.0, 1.5)


def test_near_zero_reference_does_not_explode_relative_error() -> None:
    ref = np.array([1e-9, 1.0, -1.0], np.float32)
    act = np.array([1e-4, 1.0, -1.0], np.float32)
    m = compare_tensors(ref, act, MetricParams(relative_floor=1e-3)).metrics
    assert m.max_relative_error == pytest.approx(0.1, rel=1e-3)  # 1e-4 / (1e-3 * peak 1.0)


def test_inf_on_the_device_side_is_counted_and_makes_max_abs_infinite() -> None:
    ref = np.ones(8, np.float32)
    act = ref.astype(np.float16)
    act[3] = np.inf
    c = compare_tensors(ref, act, MetricParams(rtol=1e-2))
    assert (c.metrics.actual_inf, c.metrics.reference_inf) == (1, 0)
    assert c.metrics.max_abs_error == math.inf
    assert c.new_nonfinite == 1
    assert c.metrics.relative_l2 == 0  # the other seven agree
    assert c.metrics.share_outside_tolerance == pytest.approx(1 / 8)
    assert c.worst_index == (3,)
    assert c.worst_actual == math.inf


def test_all_nan_output_has_no_finite_metrics_and_counts_every_nan() -> None:
    ref = np.linspace(-1, 1, 10, dtype=np.float32)
    act = np.full(10, np.nan, np.float16)
    c = compare_tensors(ref, act)
    m = c.metrics
    assert m.actual_nan == 10
    assert m.relative_l2 is None
    assert m.cosine_similarity is None
    assert m.share_outside_tolerance == 1.0
    assert c.new_nonfinite == 10


def test_nan_in_the_same_places_on_both_sides_agrees() -> None:
    ref = np.array([np.nan, 1.0, -np.inf], np.float32)
    act = np.array([np.nan, 1.0, -np.inf], np.float32)
    c = compare_tensors(ref, act)
    assert c.nonfinite_mismatch == 0
    assert c.metrics.max_abs_error == 0
    assert (c.metrics.reference_nan, c.metrics.reference_inf) == (1, 1)


def test_int32_outputs_compare_exactly_with_integer_ulps() -> None:
    ref = np.array([[1, 2, 3], [2**31 - 1, 0, -5]], np.int32)
    act = ref.copy()
    act[1, 2] = -7
    m = compare_tensors(ref, act).metrics
    assert m.max_abs_error == 2
    assert m.max_ulp == 2


def test_scalar_outputs_compare() -> None:
    m = compare_tensors(np.float32(2.0), np.float32(2.5)).metrics
    assert m.max_abs_error == pytest.approx(0.5)
    assert m.relative_l2 == pytest.approx(0.25)


def test_fp16_ulp_distance_is_measured_in_half_precision() -> None:
    one = np.array([1.0], np.float32)
    next_half = np.nextafter(np.float16(1), np.float16(2))
    assert ulp_distance_max(one, np.array([next_half]), np.dtype(np.float16)) == 1
    neg = np.array([-0.0], np.float32)
    assert ulp_distance_max(neg, np.array([0.0], np.float32), np.dtype(np.float32)) == 0
    tiny = np.array([-1e-45, 1e-45], np.float32)
    assert list(ulp_distance(tiny, tiny[::-1], np.dtype(np.float32))) == [2, 2]


def test_top1_and_topk_agreement_on_class_scores() -> None:
    ref = np.array([[0.1, 0.7, 0.2, 0.0], [0.5, 0.1, 0.3, 0.1]], np.float32)
    act = np.array([[0.1, 0.6, 0.65, 0.0], [0.5, 0.1, 0.3, 0.1]], np.float32)
    m = compare_tensors(ref, act, MetricParams(top_k=2), name="probabilities").metrics
    assert m.top1_agreement == pytest.approx(0.5)
    assert m.topk_overlap == pytest.approx(1.0)


def test_score_detection_uses_name_and_shape() -> None:
    f32 = np.dtype(np.float32)
    assert looks_like_scores("logits", (1, 7, 32000), f32)
    assert looks_like_scores("y", (1, 1000), f32)
    assert not looks_like_scores("image", (1, 3, 8, 8), f32)
    assert not looks_like_scores("y", (1, 1000), np.dtype(np.int32))
    assert not looks_like_scores("signal", (25_000_000,), f32)


def test_streaming_over_chunks_gives_the_same_metrics_as_one_chunk() -> None:
    rng = np.random.default_rng(1)
    ref = rng.standard_normal(10_001).astype(np.float32)
    act = (ref + rng.standard_normal(10_001) * 1e-3).astype(np.float16)
    act[5000] = np.nan
    one = compare_tensors(ref, act, MetricParams(rtol=1e-3, chunk_elements=1 << 20))
    many = compare_tensors(ref, act, MetricParams(rtol=1e-3, chunk_elements=97))
    for name in ("max_abs_error", "relative_l2", "cosine_similarity", "max_ulp", "snr_db"):
        assert getattr(many.metrics, name) == pytest.approx(getattr(one.metrics, name), rel=1e-9)
    assert many.metrics.share_outside_tolerance == one.metrics.share_outside_tolerance
    assert many.worst_index == one.worst_index


def test_memory_mapped_outputs_are_compared_in_place(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ref = np.arange(1000, dtype=np.float32)
    np.save(tmp_path / "r.npy", ref)
    mapped = np.load(tmp_path / "r.npy", mmap_mode="r")
    assert compare_tensors(mapped, ref).metrics.max_abs_error == 0
