"""Where Core ML's behaviour is known, the emulator does the same (from the MIL op specs and
coremltools' own torch-op tests): rank-0 values, input conversion, flexible-shape bounds,
ceil-mode pooling with symbolic sizes, and the parse cache behind ``predict``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from coreml_emulator import cache, load_program, predict
from pomar_core.errors import InputsError
from tests.coreml_emulator.conftest import convert, ct, quiet_convert


class _Sum(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum()


class _Gather(torch.nn.Module):
    def forward(self, x: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return x[i]


class _Double(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2


@pytest.fixture(scope="module")
def sum_model() -> Any:
    return convert(_Sum(), torch.rand(2, 3))


def test_rank0_output_comes_back_with_shape_1(sum_model: Any) -> None:
    # coremltools' own tests (test_torch_ops: TestSum::test_all, TestDot) expect (1,) from Core ML.
    x = np.random.default_rng(0).random((2, 3), dtype=np.float32)
    (out,) = predict(sum_model, {"x0": x}).values()
    assert out.shape == (1,)
    np.testing.assert_allclose(out[0], x.sum(), rtol=1e-6)


def test_concat_of_rank0_values_is_rank1() -> None:
    from coremltools.converters.mil import Builder as mb

    @mb.program(input_specs=[mb.TensorSpec(shape=(2, 3))], opset_version=ct.target.iOS16)
    def program(x: Any) -> Any:
        shape = mb.shape(x=x)
        rows = mb.gather(x=shape, indices=0)
        cols = mb.gather(x=shape, indices=1)
        return mb.concat(values=[cols, rows], axis=0)

    model = quiet_convert(
        program,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        pass_pipeline=ct.PassPipeline.EMPTY,
    )
    name = model.get_spec().description.input[0].name
    (out,) = predict(model, {name: np.zeros((2, 3), np.float32)}).values()
    assert out.tolist() == [3, 2]


def test_inputs_are_converted_to_declared_types_only_when_asked() -> None:
    module = _Gather()
    traced = torch.jit.trace(module, (torch.rand(5), torch.tensor([1, 3])))
    model = quiet_convert(
        traced,
        inputs=[
            ct.TensorType(name="x", shape=(5,)),
            ct.TensorType(name="i", shape=(2,), dtype=np.int32),
        ],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
    )
    x = np.arange(5, dtype=np.float32)
    as_float = {"x": x, "i": np.array([1.0, 3.0], np.float32)}
    with pytest.raises(InputsError, match="dtype float32, the model expects int32"):
        predict(model, as_float)  # strict by default: Pomar's own inputs are validated
    (out,) = predict(model, as_float, convert_inputs=True).values()  # as Core ML converts
    assert out.tolist() == [1.0, 3.0]


@pytest.fixture(scope="module")
def ranged_model() -> Any:
    traced = torch.jit.trace(_Double(), torch.rand(1, 4))
    return quiet_convert(
        traced,
        inputs=[ct.TensorType(name="x", shape=(1, ct.RangeDim(2, 6, default=4)))],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
    )


def test_input_outside_the_range_dim_is_refused(ranged_model: Any) -> None:
    (out,) = predict(ranged_model, {"x": np.ones((1, 6), np.float32)}).values()
    assert out.shape == (1, 6)
    with pytest.raises(InputsError, match=r"dimension 1 is 7, the model accepts 2\.\.6"):
        predict(ranged_model, {"x": np.ones((1, 7), np.float32)})
    with pytest.raises(InputsError, match="dimension 1 is 1"):
        predict(ranged_model, {"x": np.ones((1, 1), np.float32)})


def test_input_outside_the_enumerated_shapes_is_refused() -> None:
    traced = torch.jit.trace(_Double(), torch.rand(1, 4))
    model = quiet_convert(
        traced,
        inputs=[ct.TensorType(name="x", shape=ct.EnumeratedShapes([(1, 4), (1, 8)]))],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
    )
    assert next(iter(predict(model, {"x": np.ones((1, 8), np.float32)}).values())).shape == (1, 8)
    with pytest.raises(InputsError, match="not one of the enumerated shapes"):
        predict(model, {"x": np.ones((1, 6), np.float32)})


@pytest.mark.parametrize("size", [15, 16, 9])
def test_ceil_mode_avg_pool_with_symbolic_sizes_matches_torch(size: int) -> None:
    # TestAvgPool::test_avg_pool2d_symbolic_input: MIL drops a last window starting in the padding.
    pool = torch.nn.AvgPool2d(2, stride=2, padding=1, count_include_pad=True, ceil_mode=True)
    traced = torch.jit.trace(pool, torch.rand(1, 2, 15, 15))
    side = ct.RangeDim(upper_bound=20)
    model = quiet_convert(
        traced,
        inputs=[ct.TensorType(name="x", shape=(1, 2, side, ct.RangeDim(upper_bound=20)))],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        compute_precision=ct.precision.FLOAT32,
    )
    x = torch.rand(1, 2, size, size)
    (out,) = predict(model, {"x": x.numpy()}).values()
    expected = pool(x).numpy()
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_predict_parses_a_model_once(sum_model: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.clear()
    calls: list[object] = []
    real = load_program

    def counting(model: Any) -> Any:
        calls.append(model)
        return real(model)

    monkeypatch.setattr("coreml_emulator.program.load_program", counting)
    x = {"x0": np.ones((2, 3), np.float32)}
    for _ in range(3):
        predict(sum_model, x)
    assert len(calls) == 1
    assert cache.content_key(sum_model) == cache.content_key(sum_model)
