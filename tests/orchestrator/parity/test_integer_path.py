"""The integer work path gives exactly the metrics of the float64 one, on any integer data."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from orchestrator.parity import integer, metrics
from orchestrator.parity.metrics import MetricParams, TensorComparison, compare_tensors

INT32 = np.iinfo(np.int32)


def _both_paths(
    ref: np.ndarray[Any, Any],
    act: np.ndarray[Any, Any],
    params: MetricParams,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[TensorComparison, TensorComparison]:
    fast = compare_tensors(ref, act, params)
    with monkeypatch.context() as patched:
        # A limit of -1 sends every chunk to the float64 path.
        patched.setattr(integer, "INT_LIMIT", -1)
        wide = compare_tensors(ref, act, params)
    return fast, wide


def _assert_identical(fast: TensorComparison, wide: TensorComparison) -> None:
    assert fast.metrics == wide.metrics  # every field, to the bit
    assert fast.worst_index == wide.worst_index
    assert fast.worst_reference == wide.worst_reference
    assert fast.worst_actual == wide.worst_actual


def _extremes(rng: np.random.Generator, n: int, dtype: Any) -> np.ndarray[Any, Any]:
    info = np.iinfo(dtype)
    special = np.array([info.min, info.max, 0, -1 if info.min < 0 else 1, info.min + 1], dtype)
    out = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    out[rng.integers(0, n, 40)] = rng.choice(special, 40)
    return out


PARAMS = (
    MetricParams(scores=False, chunk_elements=257),
    MetricParams(rtol=1e-2, peak_atol=1e-3, relative_floor=1e-2, scores=False, chunk_elements=100),
    MetricParams(atol=2.5, rtol=0.1, relative_floor=1e-6, scores=False, chunk_elements=64),
    MetricParams(atol=0.0, rtol=0.0, peak_atol=0.0, scores=False, chunk_elements=1 << 16),
)


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("scale", [1, 3, 1000, 40_000, 100_000])
def test_small_int32_values_give_the_float64_metrics_exactly(
    params: MetricParams, scale: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(scale)
    ref = rng.integers(-scale, scale, 3000, dtype=np.int32, endpoint=True)
    act = ref + rng.integers(-scale // 50 - 1, scale // 50 + 1, 3000, dtype=np.int32)
    act[::97] = rng.integers(-scale, scale, act[::97].size, dtype=np.int32)  # some wild errors
    _assert_identical(*_both_paths(ref, act, params, monkeypatch))


@pytest.mark.parametrize("params", PARAMS)
def test_int32_extremes_give_the_float64_metrics_exactly(
    params: MetricParams, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(1)
    ref = _extremes(rng, 5000, np.int32)
    act = _extremes(rng, 5000, np.int32)
    # Small-valued stretches among the extremes: chunks of both kinds in one tensor.
    ref[1000:3000] = rng.integers(-500, 500, 2000, dtype=np.int32)
    act[1000:3000] = ref[1000:3000] + rng.integers(-3, 3, 2000, dtype=np.int32)
    ref[4000], act[4000] = INT32.min, INT32.max
    _assert_identical(*_both_paths(ref, act, params, monkeypatch))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int64])
def test_narrow_and_wide_integer_outputs_give_the_float64_metrics_exactly(
    dtype: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(2)
    ref = _extremes(rng, 4000, dtype)
    act = ref.copy()
    act[rng.integers(0, 4000, 300)] = _extremes(rng, 300, dtype)
    for params in PARAMS:
        _assert_identical(*_both_paths(ref, act, params, monkeypatch))
    # A reference of another integer type than the output.
    _assert_identical(*_both_paths(ref.astype(np.int64), act, PARAMS[1], monkeypatch))


def test_boolean_outputs_give_the_float64_metrics_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    ref = rng.random(3000) < 0.5
    act = ref.copy()
    act[rng.integers(0, 3000, 100)] ^= True
    for params in PARAMS:
        _assert_identical(*_both_paths(ref, act, params, monkeypatch))


def test_equal_integer_outputs_are_a_perfect_match() -> None:
    ref = np.arange(-5000, 5000, dtype=np.int32).reshape(100, 100)
    m = compare_tensors(ref, ref.copy(), MetricParams(scores=False)).metrics
    assert m.max_abs_error == 0.0
    assert m.max_relative_error == 0.0
    assert m.max_ulp == 0.0
    assert m.share_outside_tolerance == 0.0
    assert m.cosine_similarity == 1.0


def test_integer_chunks_within_the_limit_take_the_integer_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[bool] = []
    real = integer.measure_integer_chunk

    def spy(*args: Any, **kwargs: Any) -> Any:
        out = real(*args, **kwargs)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(metrics, "measure_integer_chunk", spy)
    ref = np.arange(1000, dtype=np.int32)
    act = ref.copy()
    act[500] = INT32.max  # this chunk only goes to float64
    compare_tensors(ref, act, MetricParams(scores=False, chunk_elements=100))
    assert calls == [True] * 5 + [False] + [True] * 4
