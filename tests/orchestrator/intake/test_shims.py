"""Each converter shim, checked by the emulator against torch on random inputs; the shims are
applied only when the plain conversion fails, recorded, and can be turned off."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from orchestrator.intake import shims
from orchestrator.intake.convert import ConversionOptions, convert
from orchestrator.intake.sources import SourceModel
from pomar_core.errors import ConversionError
from pomar_core.wire import Precision

ct = pytest.importorskip("coremltools")


class _NewOnes(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ones = x.new_ones((x.shape[0], 3), dtype=torch.long)
        return x[:, :3] * ones


class _NewZerosLike(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = (x > 0).long()
        return mask + mask.new_zeros(mask.shape)


class _Diff(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.diff(x, n=2, dim=1) + torch.diff(x, dim=0, prepend=x[:1]).sum()


class _IntMaskAnd(torch.nn.Module):
    def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        m = (m > 0).long()
        keep = (x > 0).long() & m
        either = (x < 0).long() | m.bool()
        return keep.float() * 2 + either.float()


class _BoolOr(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x > 0.5) | (x < -0.5)).float()


def _int_mask(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.randint(0, 2, shape, generator=torch.Generator().manual_seed(1))


CASES: dict[str, tuple[torch.nn.Module, tuple[torch.Tensor, ...]]] = {
    "new_ones": (_NewOnes(), (torch.randn(4, 5),)),
    "new_zeros": (_NewZerosLike(), (torch.randn(4, 5),)),
    "diff": (_Diff(), (torch.randn(4, 6),)),
    "and": (_IntMaskAnd(), (torch.randn(3, 7), _int_mask((3, 7)))),
    "or": (_BoolOr(), (torch.randn(3, 7),)),
}


def _convert_with_shims(module: torch.nn.Module, example: tuple[torch.Tensor, ...]) -> Any:
    traced = torch.jit.trace(module.eval(), example)
    inputs = [
        ct.TensorType(
            name=f"x{i}",
            shape=t.shape,
            dtype=np.int32 if not t.is_floating_point() else np.float32,
        )
        for i, t in enumerate(example)
    ]
    with warnings.catch_warnings(), shims.applied() as use:
        warnings.simplefilter("ignore")
        model = ct.convert(
            traced,
            inputs=inputs,
            convert_to="mlprogram",
            compute_precision=ct.precision.FLOAT32,
            minimum_deployment_target=ct.target.iOS16,
        )
    return model, use.names()


def test_every_shim_has_a_case() -> None:
    assert {s.name for s in shims.SHIMS} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shim_matches_torch_through_the_emulator(name: str) -> None:
    from coreml_emulator import predict

    module, example = CASES[name]
    model, used = _convert_with_shims(module, example)
    assert name in used
    rng = np.random.default_rng(7)
    for _ in range(3):  # fresh random inputs, not only the traced example
        fresh = tuple(
            torch.from_numpy(rng.standard_normal(t.shape).astype(np.float32))
            if t.is_floating_point()
            else torch.from_numpy(rng.integers(0, 2, t.shape))
            for t in example
        )
        feeds = {f"x{i}": t.numpy().astype(np.int32 if not t.is_floating_point() else np.float32)
                 for i, t in enumerate(fresh)}  # fmt: skip
        (out,) = predict(model, feeds).values()
        expected = module(*fresh).detach().numpy()
        np.testing.assert_allclose(out.astype(np.float64), expected, rtol=1e-5, atol=1e-6)


class _IntAnd(torch.nn.Module):
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x & y


def test_bitwise_and_of_arbitrary_integers_is_refused_not_guessed() -> None:
    with pytest.raises(NotImplementedError, match="not known to hold only 0 and 1"):
        _convert_with_shims(_IntAnd(), (_int_mask((3,)) * 5, _int_mask((3,))))


def test_applied_leaves_coremltools_as_it_was() -> None:
    from coremltools.converters.mil.frontend.torch.torch_op_registry import _TORCH_OPS_REGISTRY

    before = dict(_TORCH_OPS_REGISTRY.name_to_func_mapping)
    with shims.applied():
        assert "new_ones" in _TORCH_OPS_REGISTRY.name_to_func_mapping
    assert _TORCH_OPS_REGISTRY.name_to_func_mapping == before


def _source() -> SourceModel:
    module, example = CASES["new_ones"]
    return SourceModel(module=module, example_inputs=example, input_names=("x",))


def test_convert_uses_shims_only_after_the_plain_conversion_fails(tmp_path: Path) -> None:
    options = ConversionOptions(precision=Precision.FP32, front_end="torchscript")
    used = convert(_source(), options, tmp_path / "m.mlpackage", name="new_ones model")
    assert used == ("new_ones",)
    plain = SourceModel(module=torch.nn.ReLU(), example_inputs=(torch.randn(2),))
    assert convert(plain, options, tmp_path / "relu.mlpackage", name="relu") == ()


def test_no_shims_keeps_the_plain_error(tmp_path: Path) -> None:
    options = ConversionOptions(precision=Precision.FP32, front_end="torchscript", shims=False)
    with pytest.raises(ConversionError, match="new_ones"):
        convert(_source(), options, tmp_path / "m.mlpackage", name="new_ones model")
