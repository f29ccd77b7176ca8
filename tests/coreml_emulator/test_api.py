"""The public API: paths and MLModels in, outputs by name and declared dtype out, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from coreml_emulator import load_program, predict
from pomar_core.errors import InputsError, ModelError, UnsupportedOpError, UsageError
from tests.coreml_emulator.conftest import convert, ct, quiet_convert

torch.manual_seed(0)


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.linear(x))


@pytest.fixture(scope="module")
def fp16_model() -> Any:
    return convert(Tiny(), torch.randn(2, 4), precision="fp16", target=ct.target.iOS16)


def test_predict_reads_a_saved_mlpackage_and_keys_outputs_by_name(
    fp16_model: Any, tmp_path: Path
) -> None:
    path = tmp_path / "tiny.mlpackage"
    fp16_model.save(str(path))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    outputs = predict(path, {"x0": x})
    names = [o.name for o in fp16_model.get_spec().description.output]
    assert list(outputs) == names
    assert outputs[names[0]].shape == (2, 3)


def test_outputs_come_back_in_the_dtype_the_spec_declares(fp16_model: Any) -> None:
    x = np.ones((2, 4), np.float32)
    (output,) = predict(fp16_model, {"x0": x}).values()
    assert output.dtype == np.float16  # iOS16 + FLOAT16 traced models declare fp16 outputs


def test_a_missing_input_is_an_inputs_error_naming_it(fp16_model: Any) -> None:
    with pytest.raises(InputsError, match="missing x0"):
        predict(fp16_model, {"y": np.ones((2, 4), np.float32)})


def test_a_misshaped_input_is_an_inputs_error_with_both_shapes(fp16_model: Any) -> None:
    with pytest.raises(InputsError, match=r"shape \(3, 4\).*\(2, 4\)"):
        predict(fp16_model, {"x0": np.ones((3, 4), np.float32)})


def test_an_unknown_precision_is_a_usage_error(fp16_model: Any) -> None:
    with pytest.raises(UsageError) as caught:
        predict(fp16_model, {"x0": np.ones((2, 4), np.float32)}, precision="int8")
    assert "fp16-strict" in caught.value.one_line()


def test_a_neural_network_model_is_a_model_error_saying_what_to_do() -> None:
    traced = torch.jit.trace(Tiny().eval(), torch.randn(2, 4))
    model = quiet_convert(
        traced, inputs=[ct.TensorType(name="x0", shape=(2, 4))], convert_to="neuralnetwork"
    )
    with pytest.raises(ModelError) as caught:
        load_program(model)
    assert "convert_to='mlprogram'" in caught.value.one_line()
    assert "\n" not in caught.value.one_line()


def test_a_missing_path_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_program(tmp_path / "nope.mlpackage")


def test_an_op_without_a_kernel_raises_unsupported_op_error_naming_op_and_opset() -> None:
    from coremltools.converters.mil import Builder as mb

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 4))], opset_version=ct.target.iOS16)
    def prog(x: Any) -> Any:
        items = mb.make_list(init_length=1, elem_shape=(1, 4), dtype="fp32")
        items = mb.list_write(ls=items, index=0, value=x)
        return mb.add(x=mb.list_read(ls=items, index=0), y=1.0)

    model = quiet_convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16)
    with pytest.raises(UnsupportedOpError) as caught:
        load_program(model)
    assert caught.value.op_type == "make_list"
    assert caught.value.opset == "iOS15"
    assert "make_list" in caught.value.one_line()


def test_a_program_is_parsed_once_and_runs_many_times(fp16_model: Any) -> None:
    program = load_program(fp16_model)
    first = program.predict({"x0": np.ones((2, 4), np.float32)})
    second = program.predict({"x0": np.ones((2, 4), np.float32)})
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    assert program.op_types == ["linear", "relu"]


class ScaledMean(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.0 * x.mean()


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_rank_0_results_keep_rank_0(precision: str) -> None:
    x = torch.randn(2, 3)
    model = convert(ScaledMean(), x, precision=precision)
    (out,) = predict(model, {"x0": x.numpy()}).values()
    np.testing.assert_allclose(out, x.numpy(), rtol=1e-3)


def test_a_kernel_that_fails_is_an_unsupported_op_error_naming_the_op_not_a_traceback(
    fp16_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coreml_emulator import kernels

    def broken(args: Any) -> Any:
        return args.tensor("x")[:1]  # a wrong shape, as a buggy kernel would return

    monkeypatch.setitem(kernels._REGISTRY, "relu", broken)
    with pytest.raises(UnsupportedOpError) as caught:
        load_program(fp16_model).predict({"x0": np.ones((2, 4), np.float32)})
    assert caught.value.op_type == "relu"
    assert "shape" in caught.value.one_line()

    def crashing(args: Any) -> Any:
        raise IndexError("index 7 is out of bounds")

    monkeypatch.setitem(kernels._REGISTRY, "relu", crashing)
    with pytest.raises(UnsupportedOpError, match=r"relu.*IndexError"):
        load_program(fp16_model).predict({"x0": np.ones((2, 4), np.float32)})
