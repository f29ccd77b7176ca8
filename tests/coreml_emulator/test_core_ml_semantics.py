"""Where Core ML's behaviour is known, the emulator does the same (from the MIL op specs and
coremltools' own torch-op tests): rank-0 values, input conversion, flexible-shape bounds,
ceil-mode pooling with symbolic sizes, and the parse cache behind ``predict``."""

from __future__ import annotations

import warnings
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


def test_the_cache_is_keyed_by_content_not_by_object(sum_model: Any, tmp_path: Any) -> None:
    cache.clear()
    path = tmp_path / "sum.mlpackage"
    sum_model.save(str(path))
    reloaded = ct.models.MLModel(str(path), skip_model_load=True)
    first = cache.cached_program(sum_model)
    assert cache.cached_program(sum_model) is first  # the same object: found by identity
    assert cache.content_key(reloaded) == cache.content_key(
        ct.models.MLModel(str(path), skip_model_load=True)
    )
    assert cache.cached_program(str(path)) is cache.cached_program(path)
    assert cache.cached_program(path) is not first  # a path is keyed by its files


class _Stack(torch.nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.stack([a, b], dim=1)


@pytest.mark.parametrize(("default", "loads"), [(4, True), (2, False)])
def test_a_program_that_cannot_run_at_its_default_shapes_is_refused(
    default: int, loads: bool
) -> None:
    # TestStack::test_stack_dynamic_range_dim: Core ML refuses the model when the RangeDim's
    # default makes `stack`'s inputs differ, even for inputs that would fit.
    from pomar_core.errors import ModelError

    traced = torch.jit.trace(_Stack(), (torch.rand(2, 4), torch.rand(2, 4)))
    model = quiet_convert(
        traced,
        inputs=[
            ct.TensorType(name="a", shape=(2, 4)),
            ct.TensorType(name="b", shape=(2, ct.RangeDim(upper_bound=10, default=default))),
        ],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
    )
    feeds = {"a": np.ones((2, 4), np.float32), "b": np.ones((2, 4), np.float32)}
    if loads:
        (out,) = predict(model, feeds).values()
        assert out.shape == (2, 2, 4)
    else:
        with pytest.raises(ModelError, match="type-check at its inputs' default shapes"):
            predict(model, feeds)


class _SliceToLength(torch.nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x[:, 1 : y.shape[1]]


def test_slice_with_runtime_bounds() -> None:
    # TestSlice::test_dynamic_slice: the end comes from another input's shape at run time.
    traced = torch.jit.trace(_SliceToLength(), (torch.rand(2, 9), torch.rand(2, 5)))
    model = quiet_convert(
        traced,
        inputs=[
            ct.TensorType(name="x", shape=(2, 9)),
            ct.TensorType(name="y", shape=(2, ct.RangeDim(2, 9, default=5))),
        ],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        compute_precision=ct.precision.FLOAT32,
    )
    x = np.arange(18, dtype=np.float32).reshape(2, 9)
    for length in (5, 7, 3):
        (out,) = predict(model, {"x": x, "y": np.zeros((2, length), np.float32)}).values()
        np.testing.assert_array_equal(out, x[:, 1:length])


class _PackedLstm(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(4, 6, 1)

    def forward(self, batch: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

        output, _ = self.lstm(pack_padded_sequence(batch, lengths))
        return pad_packed_sequence(output, padding_value=-1.0)[0]  # type: ignore[no-any-return]


def test_packed_sequence_lstm_matches_torch() -> None:
    # TestLSTMWithPackedSequence: coremltools sizes the zero initial state by the longest length.
    module = _PackedLstm().eval()
    x, lengths = torch.randn(10, 3, 4), torch.tensor([10, 5, 1], dtype=torch.int32)
    traced = torch.jit.trace(module, (x, lengths))
    model = quiet_convert(
        traced,
        inputs=[
            ct.TensorType(name="x", shape=x.shape),
            ct.TensorType(name="lengths", shape=(3,), dtype=np.int32),
        ],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        compute_precision=ct.precision.FLOAT32,
    )
    (out,) = predict(model, {"x": x.numpy(), "lengths": lengths.numpy()}).values()
    np.testing.assert_allclose(out, module(x, lengths).detach().numpy(), rtol=1e-5, atol=1e-6)


class _AssignDynamicSlice(torch.nn.Module):
    def forward(
        self, x: torch.Tensor, begin_0: torch.Tensor, begin_1: torch.Tensor, end_1: torch.Tensor
    ) -> torch.Tensor:
        x[:1, begin_0 : begin_0 + 5 : 2, 2] = torch.tensor([1.0, 2.0, 3.0]).view(1, 3)
        x[:, 4, begin_1:end_1] = torch.tensor([1.0]).view(1, 1)
        return x


def test_an_op_left_symbolic_is_not_judged_at_the_default_shapes() -> None:
    # TestTensorAssign::test_tensor_assign_dynamic_slice passes on Core ML although its
    # slice_update does not type-check at the RangeDims' defaults: its output stays symbolic.
    bounds = [torch.tensor([1], dtype=torch.int32)] * 2 + [torch.tensor([2], dtype=torch.int32)]
    x = torch.rand(2, 10, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # bounds read as Python ints
        traced = torch.jit.trace(_AssignDynamicSlice(), (x.clone(), *bounds))
    ranged = tuple(ct.RangeDim(upper_bound=10) for _ in range(3))
    model = quiet_convert(
        traced,
        inputs=[ct.TensorType(name="x", shape=ranged)]
        + [ct.TensorType(name=f"b{i}", shape=(1,), dtype=np.int32) for i in range(3)],
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS18,
        compute_precision=ct.precision.FLOAT32,
    )
    feeds = {"x": x.numpy(), **{f"b{i}": b.numpy() for i, b in enumerate(bounds)}}
    (out,) = predict(model, feeds).values()
    expected = _AssignDynamicSlice()(x.clone(), *bounds).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6)
