"""The float32 work path gives the metrics of the float64 one, and never an overflow."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orchestrator.parity.metrics import MetricParams, compare_tensors
from orchestrator.parity.ulp import ulp_distance, ulp_distance_max

PARAMS = MetricParams(rtol=1e-2, peak_atol=1e-3, chunk_elements=257)
METRICS = (
    "max_abs_error",
    "mean_abs_error",
    "relative_l2",
    "max_relative_error",
    "cosine_similarity",
    "snr_db",
    "psnr_db",
)


@pytest.mark.parametrize("output_dtype", [np.float32, np.float16])
@pytest.mark.parametrize("scale", [1e-4, 1.0, 1e3])
def test_float32_work_matches_float64_work_to_a_millionth(
    output_dtype: type[np.floating], scale: float
) -> None:
    rng = np.random.default_rng(7)
    ref = (rng.standard_normal(5000) * scale).astype(np.float32)
    act = (ref + rng.standard_normal(5000).astype(np.float32) * np.float32(scale * 3e-3)).astype(
        output_dtype
    )
    fast = compare_tensors(ref, act, PARAMS).metrics
    # float64 inputs take the float64 path; the values are the same.
    wide = compare_tensors(ref.astype(np.float64), act.astype(np.float64), PARAMS).metrics
    for name in METRICS:
        assert getattr(fast, name) == pytest.approx(getattr(wide, name), rel=1e-6), name
    assert fast.share_outside_tolerance == wide.share_outside_tolerance


def test_float32_values_whose_difference_overflows_float32_are_measured_in_float64() -> None:
    ref = np.array([3e38, 1.0, -2.0], np.float32)
    act = np.array([-3e38, 1.0, -2.0], np.float32)
    m = compare_tensors(ref, act).metrics
    assert m.max_abs_error == pytest.approx(6e38, rel=1e-6)
    assert math.isfinite(m.relative_l2 or math.nan)
    assert m.actual_inf == 0


def test_the_callers_arrays_are_never_written() -> None:
    rng = np.random.default_rng(0)
    ref = rng.standard_normal(1000).astype(np.float32)
    act = ref + np.float32(0.01)
    ref_before, act_before = ref.copy(), act.copy()
    compare_tensors(ref, act, PARAMS)
    assert np.array_equal(ref, ref_before)
    assert np.array_equal(act, act_before)


def test_ulp_distance_across_zero_adds_the_magnitudes() -> None:
    tiny = np.float32(1e-45)  # the smallest subnormal: one step from zero
    ref = np.array([tiny, -tiny, 0.0, -0.0, 1.0], np.float32)
    act = np.array([-tiny, tiny, -0.0, 0.0, 1.0], np.float32)
    assert list(ulp_distance(ref, act, np.dtype(np.float32))) == [2, 2, 0, 0, 0]
    assert ulp_distance_max(ref, act, np.dtype(np.float32)) == 2
    one = np.array([1.0], np.float32)
    # from 1.0 down to 0 and up again to -1.0: 2 * 0x3f800000 steps
    assert ulp_distance_max(one, -one, np.dtype(np.float32)) == 2 * 0x3F800000


def test_ulp_distance_of_negative_neighbours_is_one() -> None:
    ref = np.array([-1.0, -3.5], np.float32)
    act = np.nextafter(ref, np.float32(-np.inf))
    assert ulp_distance_max(ref, act, np.dtype(np.float32)) == 1
    assert ulp_distance_max(ref, act.astype(np.float16), np.dtype(np.float16)) <= 1
