"""``reverse_sequence`` built with MIL's builder against a per-slice numpy reference."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from coreml_emulator import load_program
from tests.coreml_emulator.conftest import ct, quiet_convert

X = np.arange(2 * 3 * 5, dtype=np.float32).reshape(2, 3, 5)
LENGTHS = np.array([0, 5, 2], np.int32)


def _reference(x: np.ndarray[Any, Any], seq_axis: int, batch_axis: int) -> np.ndarray[Any, Any]:
    out = x.copy()
    for b, n in enumerate(LENGTHS):
        target: list[Any] = [slice(None)] * x.ndim
        target[batch_axis], target[seq_axis] = b, slice(0, n)
        source = list(target)
        source[seq_axis] = slice(n - 1, None, -1) if n else slice(0, 0)
        out[tuple(target)] = x[tuple(source)]
    return out


@pytest.mark.parametrize(
    ("perm", "seq_axis", "batch_axis"), [((0, 1, 2), 2, 1), ((0, 1, 2), -1, 1), ((2, 1, 0), 0, 1)]
)
def test_reverse_sequence_reverses_each_batch_prefix(
    perm: tuple[int, ...], seq_axis: int, batch_axis: int
) -> None:
    x = np.ascontiguousarray(X.transpose(perm))
    from coremltools.converters.mil import Builder as mb

    def build(x: Any) -> Any:
        return mb.reverse_sequence(x=x, lengths=LENGTHS, seq_axis=seq_axis, batch_axis=batch_axis)

    program = mb.program(input_specs=[mb.TensorSpec(shape=x.shape)], opset_version=ct.target.iOS16)(
        build
    )
    model = quiet_convert(
        program,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        compute_precision=ct.precision.FLOAT32,
        pass_pipeline=ct.PassPipeline.EMPTY,
    )
    name = model.get_spec().description.input[0].name
    (out,) = load_program(model).predict({name: x}).values()
    np.testing.assert_array_equal(out, _reference(x, seq_axis % 3, batch_axis))
