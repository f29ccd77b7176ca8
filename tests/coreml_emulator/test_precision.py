"""Precision modes: half-precision storage overflows exactly where half does; fp32 islands stay."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from coreml_emulator import Trace, first_divergence, load_program
from tests.coreml_emulator.conftest import convert, ct, quiet_convert


class Scale(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 1000.0 + 1.0


@pytest.fixture(scope="module")
def scale_fp32() -> Any:
    return convert(Scale(), torch.ones(1, 6), precision="fp32")


def test_fp16_mode_overflows_to_inf_exactly_where_half_precision_does(scale_fp32: Any) -> None:
    x = np.array([[1.0, 60.0, 65.0, 66.0, -70.0, 0.5]], np.float32)
    program = load_program(scale_fp32)
    (fp16,) = program.predict({"x0": x}, precision="fp16").values()
    with np.errstate(over="ignore"):
        half = (x.astype(np.float16) * np.float16(1000.0)) + np.float16(1.0)
    np.testing.assert_array_equal(np.isinf(fp16), np.isinf(half))
    np.testing.assert_array_equal(fp16[np.isfinite(fp16)], half[np.isfinite(half)])
    (fp32,) = program.predict({"x0": x}, precision="fp32").values()
    assert np.isfinite(fp32).all()


def test_first_nonfinite_names_the_op_that_overflowed(scale_fp32: Any) -> None:
    trace = Trace()
    load_program(scale_fp32).predict(
        {"x0": np.full((1, 6), 100.0, np.float32)}, precision="fp16", trace=trace
    )
    first = trace.first_nonfinite()
    assert first is not None
    assert first.op_type == "mul"
    assert first.inf_count == 6


def test_fp16_overflow_example_diverges_from_fp32_at_the_sum_of_squares() -> None:
    from examples.fp16_overflow import build

    module, (features,) = build()
    program = load_program(convert(module, features, precision="fp32"))
    left, right = Trace(keep_tensors=True), Trace(keep_tensors=True)
    program.predict({"x0": features.numpy()}, precision="fp32", trace=left)
    outputs = program.predict({"x0": features.numpy()}, precision="fp16", trace=right)
    divergence = first_divergence(left, right)
    assert divergence is not None
    assert divergence.op_type in ("reduce_sum", "reduce_sum_square", "mul")
    assert right[divergence.name].inf_count > 0
    (reference,) = program.predict({"x0": features.numpy()}, precision="fp32").values()
    (collapsed,) = outputs.values()
    # In half precision the energy is inf: the output collapses to 0 or NaN, never the answer.
    assert not np.allclose(collapsed, reference, atol=1e-2)


def test_fp16_strict_accumulates_in_half_and_is_never_better_than_fp16() -> None:
    torch.manual_seed(0)
    module = nn.Linear(512, 4)
    x = torch.randn(1, 512)
    program = load_program(convert(module, x, precision="fp32"))
    expected = module(x).detach().numpy()
    errors = {}
    for mode in ("fp32", "fp16", "fp16-strict"):
        (out,) = program.predict({"x0": x.numpy()}, precision=mode).values()
        errors[mode] = float(np.abs(out - expected).max())
    assert errors["fp32"] < 1e-5
    assert errors["fp16"] <= errors["fp16-strict"]
    assert 0 < errors["fp16-strict"] < 0.5


class Island(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x * 3.0, dim=-1) + 1.0


def test_fp16_mode_keeps_an_fp16_programs_fp32_islands() -> None:
    model = _island_model()
    trace = Trace()
    load_program(model).predict({"x0": np.ones((1, 8), np.float32)}, precision="fp16", trace=trace)
    dtypes = {stats.op_type: stats.dtype for stats in trace}
    assert dtypes["softmax"] == "float32"  # excluded from fp16 by the op selector
    assert dtypes["mul"] == "float16"


def _island_model() -> Any:
    traced = torch.jit.trace(Island().eval(), torch.randn(1, 8))
    return quiet_convert(
        traced,
        inputs=[ct.TensorType(name="x0", shape=(1, 8))],
        convert_to="mlprogram",
        compute_precision=ct.transform.FP16ComputePrecision(
            op_selector=lambda op: op.op_type != "softmax"
        ),
        minimum_deployment_target=ct.target.iOS16,
    )


def test_fp32_upcast_keeps_an_fp16_program_in_fp32_end_to_end() -> None:
    module = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2)).eval()
    x = torch.randn(3, 8)
    model = convert(module, x, precision="fp16")
    program = load_program(model)
    with torch.no_grad():
        # The fp16 program's weights are fp16 values: the true fp32 answer uses them as stored.
        rounded = [p.detach().half().float() for p in module.parameters()]
        reference = nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2))
        for target, value in zip(reference.parameters(), rounded, strict=True):
            target.copy_(value)
        expected = reference(x).numpy()
    trace = Trace()
    (upcast,) = program.predict({"x0": x.numpy()}, precision="fp32-upcast", trace=trace).values()
    (declared,) = program.predict({"x0": x.numpy()}, precision="fp32").values()
    assert upcast.dtype == np.float32
    assert {stats.dtype for stats in trace} == {"float32"}
    assert np.abs(upcast - expected).max() < 1e-5
    assert np.abs(declared.astype(np.float32) - expected).max() > 1e-5  # fp32 honours fp16


def test_fp32_upcast_is_a_listed_precision() -> None:
    from coreml_emulator import Precision

    assert Precision.parse("fp32-upcast") is Precision.FP32_UPCAST
    assert not Precision.FP32_UPCAST.rounds_to_half
