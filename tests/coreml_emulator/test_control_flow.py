"""Control flow: ``cond`` and ``while_loop`` blocks from scripted torch modules run with the same
planner and executor as the main block, and an ill-formed predicate is refused, not guessed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from coreml_emulator import Trace, load_program
from pomar_core.errors import UnsupportedOpError
from tests.coreml_emulator.conftest import ct, quiet_convert


class Branch(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.sum() > 0):  # noqa: SIM108  (a statement-level if, as models write it)
            y = x * 2.0
        else:
            y = x - 1.0
        return y + 0.5


class Doubling(nn.Module):
    """A data-dependent while loop: doubles until the sum of magnitudes passes 100."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        while bool(y.abs().sum() < 100.0):
            y = y * 2.0
        return y


class Repeat(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for _ in range(3):
            y = torch.tanh(y) + x
        return y


def _scripted(module: nn.Module, shape: tuple[int, ...], precision: Any) -> Any:
    scripted = torch.jit.script(module.eval())
    return quiet_convert(
        scripted,
        inputs=[ct.TensorType(name="x0", shape=shape)],
        convert_to="mlprogram",
        compute_precision=precision,
        minimum_deployment_target=ct.target.iOS16,
    )


@pytest.fixture(scope="module")
def models() -> dict[str, Any]:
    built = {}
    for name, module in {"branch": Branch(), "doubling": Doubling(), "repeat": Repeat()}.items():
        built[name] = _scripted(module, (2, 3), ct.precision.FLOAT32)
        built[f"{name}_fp16"] = _scripted(module, (2, 3), ct.precision.FLOAT16)
    return built


MODULES = {"branch": Branch(), "doubling": Doubling(), "repeat": Repeat()}
INPUTS = {
    "positive": np.full((2, 3), 0.25, np.float32),
    "negative": np.full((2, 3), -0.75, np.float32),
    "mixed": np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -0.25]], np.float32),
}


@pytest.mark.parametrize("name", MODULES)
@pytest.mark.parametrize("case", INPUTS)
def test_scripted_control_flow_takes_the_same_path_as_torch(
    models: dict[str, Any], name: str, case: str
) -> None:
    x = INPUTS[case]
    with torch.no_grad():
        expected = MODULES[name](torch.from_numpy(x)).numpy()
    program = load_program(models[name])
    assert {"cond", "while_loop"} & set(program.op_types)
    (out,) = program.predict({"x0": x}).values()
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    (half,) = load_program(models[f"{name}_fp16"]).predict({"x0": x}).values()
    np.testing.assert_allclose(half.astype(np.float32), expected, rtol=2e-2, atol=2e-2)


def test_ops_inside_loop_bodies_are_traced_by_name(models: dict[str, Any]) -> None:
    trace = Trace()
    load_program(models["doubling"]).predict({"x0": INPUTS["positive"]}, trace=trace)
    types = {stats.op_type for stats in trace}
    assert "while_loop" in types
    assert "mul" in types  # the body's op, recorded from inside the loop


def test_a_loop_predicate_with_several_elements_is_refused_naming_the_loop() -> None:
    from coremltools.converters.mil import Builder as mb

    @mb.program(input_specs=[mb.TensorSpec(shape=(2,))], opset_version=ct.target.iOS16)
    def prog(x: Any) -> Any:
        def cond(v: Any) -> Any:
            return mb.less(x=v, y=np.float32(10.0))  # a (2,) predicate: no defined truth value

        def body(v: Any) -> Any:
            return (mb.add(x=v, y=np.float32(1.0)),)

        return mb.while_loop(_cond=cond, _body=body, loop_vars=(x,))

    model = quiet_convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16)
    with pytest.raises(UnsupportedOpError) as caught:
        load_program(model).predict({next(iter(model.input_description)): np.zeros(2, np.float32)})
    assert caught.value.op_type == "while_loop"
    assert "predicate" in caught.value.one_line()
