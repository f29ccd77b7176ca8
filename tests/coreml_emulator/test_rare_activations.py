"""Activations torch never emits through the converter, built with MIL's builder and compared
with the formulas in their op docstrings (``coremltools/.../defs/iOS15/activation.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from coreml_emulator import load_program
from tests.coreml_emulator.conftest import ct, quiet_convert, relative_l2

rng = np.random.default_rng(7)
# Includes exact thresholds (0.5 for thresholded_relu, 0) and values past the clamps.
X = np.concatenate(
    [rng.standard_normal((1, 3, 2, 5)) * 4, np.full((1, 3, 1, 5), 0.5), np.zeros((1, 3, 1, 5))],
    axis=2,
).astype(np.float32)
ALPHA_C = np.array([0.5, 1.0, 2.0], np.float32)
BETA_C = np.array([1.5, -0.5, 0.25], np.float32)


def _mb() -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb


def _per_channel(p: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return p.reshape(1, -1, 1, 1).astype(np.float64)


Case = tuple[Callable[[Any], Any], Callable[[np.ndarray[Any, Any]], np.ndarray[Any, Any]]]

CASES: dict[str, Case] = {
    "thresholded_relu_keeps_values_at_or_above_alpha": (
        lambda x: _mb().thresholded_relu(x=x, alpha=0.5),
        lambda x: np.where(x >= 0.5, x, 0.0),
    ),
    "clamped_relu_scales_negatives_and_clips_at_beta": (
        lambda x: _mb().clamped_relu(x=x, alpha=0.1, beta=3.0),
        lambda x: np.where(x >= 0, np.minimum(3.0, x), np.minimum(3.0, 0.1 * x)),
    ),
    "clamped_relu_with_a_negative_alpha_still_clips_at_beta": (
        lambda x: _mb().clamped_relu(x=x, alpha=-2.0, beta=1.0),
        lambda x: np.where(x >= 0, np.minimum(1.0, x), np.minimum(1.0, -2.0 * x)),
    ),
    "scaled_tanh": (
        lambda x: _mb().scaled_tanh(x=x, alpha=1.7, beta=0.6),
        lambda x: 1.7 * np.tanh(0.6 * x),
    ),
    "softplus_parametric_uses_per_channel_alpha_and_beta": (
        lambda x: _mb().softplus_parametric(x=x, alpha=ALPHA_C, beta=BETA_C),
        lambda x: _per_channel(ALPHA_C) * np.log1p(np.exp(_per_channel(BETA_C) * x)),
    ),
    "linear_activation": (
        lambda x: _mb().linear_activation(x=x, alpha=-0.75, beta=0.3),
        lambda x: x * -0.75 + 0.3,
    ),
    "sigmoid_hard": (
        lambda x: _mb().sigmoid_hard(x=x, alpha=0.3, beta=0.4),
        lambda x: np.minimum(np.maximum(0.3 * x + 0.4, 0.0), 1.0),
    ),
}


@pytest.fixture(scope="module")
def programs() -> dict[str, Any]:
    """One converted program holding every case as an output, so the suite converts once."""
    mb = _mb()
    builds = list(CASES.values())

    def build_all(x: Any) -> Any:
        return tuple(build(x) for build, _ in builds)

    prog = mb.program(input_specs=[mb.TensorSpec(shape=X.shape)], opset_version=ct.target.iOS16)(
        build_all
    )

    model = quiet_convert(
        prog,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        compute_precision=ct.precision.FLOAT32,
        pass_pipeline=ct.PassPipeline.EMPTY,
    )
    name = model.get_spec().description.input[0].name
    outputs = list(load_program(model).predict({name: X}).values())
    return dict(zip(CASES, outputs, strict=True))


@pytest.mark.parametrize("case", CASES)
def test_rare_activation_matches_its_docstring_formula(case: str, programs: dict[str, Any]) -> None:
    _, formula = CASES[case]
    expected = formula(X.astype(np.float64))
    assert relative_l2(programs[case], expected) <= 1e-6
    # Thresholds and clamps must be exact, not merely close.
    assert np.array_equal(programs[case] == 0, expected == 0)
