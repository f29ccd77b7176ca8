"""Compressed weights: models compressed by ``coremltools.optimize.coreml`` (int8 linear
quantization, 4-bit palettization, magnitude pruning) at iOS16 and iOS18 decode and run, matching
the same model with its weights decompressed by coremltools."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from coreml_emulator import load_program
from tests.coreml_emulator.conftest import convert, ct, feeds, relative_l2

torch.manual_seed(0)


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 6 * 6, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.conv(x)).flatten(1))


X = torch.randn(1, 3, 6, 6)


def _config(kind: str) -> Any:
    opt = ct.optimize.coreml
    if kind == "linear_quantize_int8":
        op: Any = opt.OpLinearQuantizerConfig(mode="linear_symmetric", weight_threshold=0)
        return opt.linear_quantize_weights, opt.OptimizationConfig(global_config=op)
    if kind == "palettize_4bit":
        op = opt.OpPalettizerConfig(nbits=4, mode="uniform", weight_threshold=0)
        return opt.palettize_weights, opt.OptimizationConfig(global_config=op)
    op = opt.OpMagnitudePrunerConfig(target_sparsity=0.5, weight_threshold=0)
    return opt.prune_weights, opt.OptimizationConfig(global_config=op)


@pytest.fixture(scope="module")
def base_models() -> dict[str, Any]:
    return {
        "iOS16": convert(Small(), X, precision="fp32", target=ct.target.iOS16),
        "iOS18": convert(Small(), X, precision="fp32", target=ct.target.iOS18),
    }


@pytest.mark.parametrize("target", ["iOS16", "iOS18"])
@pytest.mark.parametrize("kind", ["linear_quantize_int8", "palettize_4bit", "prune_50pct"])
def test_compressed_model_runs_and_matches_its_decompressed_weights(
    base_models: dict[str, Any], target: str, kind: str
) -> None:
    compress, config = _config(kind)
    with warnings.catch_warnings():
        # coremltools' optimizers drop temporary weight directories and warn on numpy casts.
        warnings.simplefilter("ignore", ResourceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        compressed = compress(base_models[target], config)
        decompressed = ct.optimize.coreml.decompress_weights(compressed)
    program = load_program(compressed)
    constexprs = [
        op.op_type
        for op in compressed._mil_program.functions["main"].operations
        if op.op_type.startswith("constexpr_")
    ]
    assert constexprs, "the optimizer left no compressed weight to decode"
    inputs = feeds(compressed, X)
    (out,) = program.predict(inputs).values()
    (want,) = load_program(decompressed).predict(inputs).values()
    assert relative_l2(out, want) <= 1e-6
    (original,) = load_program(base_models[target]).predict(inputs).values()
    assert relative_l2(out, original) < 1.0  # compression changed the answer, within reason
    assert np.isfinite(out).all()
