"""Random ops follow their MIL distributions; a seed repeats its values, -1 draws fresh ones."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.coreml_emulator.conftest import ct, run_mil


def _run(build: Any) -> list[np.ndarray]:
    return run_mil(ct.target.iOS16, np.zeros((2,), np.float32), build)


def test_uniform_normal_bernoulli_distributions() -> None:
    from coremltools.converters.mil import Builder as mb

    def build(x: Any) -> Any:
        shape = np.array([4000], np.int32)
        return (
            mb.random_uniform(shape=shape, low=2.0, high=5.0, seed=3),
            mb.random_normal(shape=shape, mean=1.0, stddev=0.5, seed=3),
            mb.random_bernoulli(shape=shape, prob=0.25, seed=3),
            mb.add(x=x, y=1.0),
        )

    uniform, normal, bernoulli, _ = _run(build)
    assert uniform.min() >= 2.0
    assert uniform.max() < 5.0
    assert abs(float(uniform.mean()) - 3.5) < 0.1
    assert abs(float(normal.mean()) - 1.0) < 0.05
    assert abs(float(normal.std()) - 0.5) < 0.05
    assert set(np.unique(bernoulli)) <= {0.0, 1.0}
    assert abs(float(bernoulli.mean()) - 0.25) < 0.05
    again = _run(build)
    np.testing.assert_array_equal(again[0], uniform)  # a seed reproduces its values


def test_unseeded_draws_differ_and_categorical_picks_likely_classes() -> None:
    from coremltools.converters.mil import Builder as mb

    def build(x: Any) -> Any:
        logits = np.array([[0.0, 20.0, 0.0], [20.0, 0.0, 0.0]], np.float32)
        return (
            mb.random_uniform(shape=np.array([64], np.int32)),
            mb.random_categorical(x=logits, size=5),
            mb.add(x=x, y=1.0),
        )

    first, picks, _ = _run(build)
    second = _run(build)[0]
    assert not np.array_equal(first, second)
    assert picks.shape == (2, 5)
    np.testing.assert_array_equal(picks, [[1] * 5, [0] * 5])
