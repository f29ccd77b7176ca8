"""Helpers for emulator tests: convert tiny torch modules and compare the emulator with torch."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import torch

ct = pytest.importorskip("coremltools")


def quiet_convert(*args: Any, **kwargs: Any) -> Any:
    """``ct.convert`` with the noise coremltools 9.0 makes under strict warnings silenced."""
    with warnings.catch_warnings():
        # coremltools 9.0 drops its weights TemporaryDirectory without closing it; the
        # ResourceWarning fires inside ct.convert, so silence it for the call only.
        warnings.simplefilter("ignore", ResourceWarning)
        # coremltools' int16 cast pass compares dtype ranges with a numpy overflow warning.
        warnings.filterwarnings("ignore", "overflow encountered in cast", RuntimeWarning)
        return ct.convert(*args, **kwargs)


def run_mil(
    target: Any, x: npt.NDArray[Any], build: Any, *, precision: str = "fp32"
) -> list[npt.NDArray[Any]]:
    """Build a one-input MIL program with ``build(x_var)``, convert it untouched (no passes),
    run it on the emulator, and return every output in order."""
    from coremltools.converters.mil import Builder as mb

    from coreml_emulator import load_program

    program = mb.program(input_specs=[mb.TensorSpec(shape=x.shape)], opset_version=target)(build)
    model = quiet_convert(
        program,
        convert_to="mlprogram",
        minimum_deployment_target=target,
        compute_precision=ct.precision.FLOAT32,
        pass_pipeline=ct.PassPipeline.EMPTY,
    )
    name = model.get_spec().description.input[0].name
    return list(load_program(model).predict({name: x}, precision=precision).values())


def convert(
    module: torch.nn.Module,
    *example: torch.Tensor,
    precision: str = "fp32",
    target: Any = None,
    frontend: str = "trace",
    **options: Any,
) -> Any:
    """An ML program for ``module`` with inputs named ``x0``, ``x1``, ..."""
    with warnings.catch_warnings():
        # Tracing shape checks in torch modules (instance norm) warns; the trace is still valid.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        return _convert(
            module, *example, precision=precision, target=target, frontend=frontend, **options
        )


def _convert(
    module: torch.nn.Module,
    *example: torch.Tensor,
    precision: str,
    target: Any,
    frontend: str,
    **options: Any,
) -> Any:
    module = module.eval()
    compute = ct.precision.FLOAT32 if precision == "fp32" else ct.precision.FLOAT16
    target = target or ct.target.iOS16
    if frontend == "export":
        with warnings.catch_warnings():
            # torch.export's pytree internals warn about their own deprecations.
            warnings.simplefilter("ignore", FutureWarning)
            exported = torch.export.export(module, tuple(example)).run_decompositions({})
        return quiet_convert(
            exported,
            convert_to="mlprogram",
            compute_precision=compute,
            minimum_deployment_target=target,
            **options,
        )
    traced = torch.jit.trace(module, tuple(example))
    return quiet_convert(
        traced,
        inputs=[ct.TensorType(name=f"x{i}", shape=t.shape) for i, t in enumerate(example)],
        convert_to="mlprogram",
        compute_precision=compute,
        minimum_deployment_target=target,
        **options,
    )


def feeds(model: Any, *example: torch.Tensor) -> dict[str, npt.NDArray[Any]]:
    """Example tensors keyed by the model's input names, in spec order."""
    names = [f.name for f in model.get_spec().description.input]
    return {name: t.detach().numpy() for name, t in zip(names, example, strict=True)}


def relative_l2(actual: npt.NDArray[Any], expected: npt.NDArray[Any]) -> float:
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    norm = float(np.linalg.norm(e))
    return float(np.linalg.norm(a - e)) / (norm if norm > 0 else 1.0)


def emulate_vs_torch(
    module: torch.nn.Module,
    *example: torch.Tensor,
    precision: str = "fp32",
    mode: str | None = None,
    target: Any = None,
    frontend: str = "trace",
) -> float:
    """Relative L2 error of the emulator against torch for the module's first output."""
    from coreml_emulator import predict

    module = module.eval()
    with torch.no_grad():
        expected = module(*example)
    if isinstance(expected, tuple | list):
        expected = expected[0]
    model = convert(module, *example, precision=precision, target=target, frontend=frontend)
    outputs = predict(model, feeds(model, *example), precision=mode or precision)
    first = next(iter(outputs.values()))
    return relative_l2(first, expected.numpy())


FP32_TOL = 1e-5
FP16_TOL = 2e-2


def check_module(
    module: torch.nn.Module,
    *example: torch.Tensor,
    fp16: bool = True,
    tol32: float = FP32_TOL,
    tol16: float = FP16_TOL,
    target: Any = None,
) -> None:
    """The emulator matches torch: an fp32 program tightly in ``fp32`` mode, and loosely both in
    ``fp16`` mode and as an fp16-converted program."""
    from coreml_emulator import load_program

    module = module.eval()
    with torch.no_grad():
        expected = module(*example)
    expected_np = (expected[0] if isinstance(expected, tuple | list) else expected).numpy()
    model = convert(module, *example, precision="fp32", target=target)
    program = load_program(model)
    inputs = feeds(model, *example)
    first = next(iter(program.predict(inputs, precision="fp32").values()))
    error = relative_l2(first, expected_np)
    assert error <= tol32, f"fp32 relative L2 {error:.2e} > {tol32:.0e}"
    if not fp16:
        return
    half_mode = next(iter(program.predict(inputs, precision="fp16").values()))
    error = relative_l2(half_mode, expected_np)
    assert error <= tol16, f"fp16 mode relative L2 {error:.2e} > {tol16:.0e}"
    model16 = convert(module, *example, precision="fp16", target=target)
    half_program = next(iter(load_program(model16).predict(feeds(model16, *example)).values()))
    error = relative_l2(half_program, expected_np)
    assert error <= tol16, f"fp16 program relative L2 {error:.2e} > {tol16:.0e}"
