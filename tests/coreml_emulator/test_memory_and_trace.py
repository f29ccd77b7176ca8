"""The memory model is what the executor holds; traces record every op output."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from coreml_emulator import Trace, load_program
from tests.coreml_emulator.conftest import convert


@pytest.fixture(scope="module")
def cnn() -> tuple[Any, dict[str, np.ndarray]]:  # type: ignore[type-arg]
    from examples.cnn import build

    module, (image,) = build()
    return convert(module, image), {"x0": image.numpy()}


def _const_bytes(model: Any) -> int:
    from coremltools.converters.mil.frontend.milproto.load import load

    spec = model.get_spec()
    program = load(spec, spec.specificationVersion, model.weights_dir)
    total = 0
    for op in program.functions["main"].operations:
        if op.op_type == "const":
            value = np.asarray(op.outputs[0].val)
            if value.dtype.kind not in "OUS":
                total += value.nbytes
    return total


def test_weight_bytes_equal_the_sum_of_constant_sizes(cnn: Any) -> None:
    model, _ = cnn
    memory = load_program(model).memory_model("fp32")
    assert memory.weight_bytes == _const_bytes(model)


def test_fp16_mode_halves_the_weight_bytes_of_an_fp32_program(cnn: Any) -> None:
    model, _ = cnn
    program = load_program(model)
    assert (
        program.memory_model("fp16").weight_bytes < 0.6 * program.memory_model("fp32").weight_bytes
    )


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_peak_activation_bytes_match_what_the_executor_held(cnn: Any, precision: str) -> None:
    model, inputs = cnn
    program = load_program(model)
    program.predict(inputs, precision=precision)
    memory = program.memory_model(precision)
    assert memory.peak_activation_bytes == program.last_peak_activation_bytes
    assert memory.peak_op is not None


def test_trace_records_every_op_output_in_order_with_stats(cnn: Any) -> None:
    model, inputs = cnn
    program = load_program(model)
    trace = Trace(keep_tensors=True)
    outputs = program.predict(inputs, trace=trace)
    assert [s.op_type for s in trace] == program.op_types
    last = list(trace)[-1]
    (output,) = outputs.values()
    np.testing.assert_array_equal(trace.tensors[last.name], output)
    assert last.min >= 0.0
    assert last.max <= 1.0
    assert trace.first_nonfinite() is None


def test_identical_runs_have_no_divergence(cnn: Any) -> None:
    from coreml_emulator import first_divergence

    model, inputs = cnn
    program = load_program(model)
    a, b = Trace(), Trace()
    program.predict(inputs, trace=a)
    program.predict(inputs, trace=b)
    assert first_divergence(a, b) is None
    _ = torch
