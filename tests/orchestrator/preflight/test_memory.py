"""Inventory and memory estimates, checked against exact figures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from coreml_emulator import load_program
from orchestrator.preflight import MemoryVerdict, PreflightOutcome, PreflightRequest, Severity
from orchestrator.preflight.memory import materialize
from orchestrator.preflight.run import run_preflight
from tests.orchestrator.preflight import models


def test_weight_bytes_are_exactly_the_stored_fp16_parameters(dilated: PreflightOutcome) -> None:
    inventory = dilated.report.inventory
    assert inventory is not None
    module, _ = models.build_dilated()
    # Every parameter tensor here has >= 10 elements, so coremltools stores each in weight.bin.
    expected = sum(p.numel() for p in module.parameters())
    assert inventory.parameters == expected
    assert inventory.weight_bytes == expected * 2
    assert [(w.dtype, w.compression, w.tensors) for w in inventory.weights] == [("fp16", "none", 4)]
    assert {o.op_type: o.count for o in inventory.ops} == {"conv": 2, "relu": 1}
    assert inventory.inputs[0].shape == (1, 4, 24, 24)


def test_activation_peak_equals_the_emulators_measured_peak(
    dilated: PreflightOutcome, tmp_path: Path
) -> None:
    memory = dilated.report.memory
    assert memory is not None
    module, examples = models.build_dilated()
    package = _converted(module, examples, tmp_path)
    program = load_program(package)
    program.predict({"x": examples[0].numpy().astype(np.float16)}, precision="fp16")
    assert memory.peak_activation_bytes == program.last_peak_activation_bytes
    assert memory.weight_bytes == program.memory_model("fp16").weight_bytes


def test_a_model_too_large_for_an_older_phone_is_killed_there_and_fits_a_newer_one(
    huge: PreflightOutcome,
) -> None:
    memory = huge.report.memory
    assert memory is not None
    gib = 1024**3
    # x (128 MiB) and its 4×4 tile (2 GiB) are live together at the tile.
    assert memory.peak_activation_bytes == gib // 8 + 2 * gib
    assert memory.peak_op == "tile_0"
    verdicts = {d.product_type: d.verdict for d in memory.devices}
    assert verdicts == {
        "iPhone11,8": MemoryVerdict.KILLED,
        "iPhone14,6": MemoryVerdict.TIGHT,
        "iPhone17,1": MemoryVerdict.FITS,
    }
    assert huge.refused
    assert huge.reason is not None
    assert "iPhone XR" in huge.reason
    killed = [f for f in huge.report.findings if f.id == "memory.killed"]
    assert [f.severity for f in killed] == [Severity.ERROR]


def test_the_range_trace_is_skipped_rather_than_allocating_a_huge_model(
    huge: PreflightOutcome,
) -> None:
    assert huge.report.ranges == ()
    assert any(f.id == "fp16.range-skipped" for f in huge.report.findings)


def test_a_model_that_fits_every_selected_phone_is_not_refused_for_memory(
    huge_package: Path,
) -> None:
    outcome = run_preflight(
        PreflightRequest(model=huge_package, devices=("iPhone17,1",), max_trace_bytes=1)
    )
    assert not outcome.refused
    assert outcome.report.exit_code == 0


def test_flexible_shapes_are_estimated_at_their_largest_shape_and_warned_about(
    tmp_path: Path,
) -> None:
    import coremltools as ct

    from orchestrator.intake.quiet import captured_stderr

    module, examples = models.build_dilated()
    flexible = ct.Shape((1, 4, ct.RangeDim(8, 64, default=24), ct.RangeDim(8, 48, default=24)))
    with captured_stderr():
        mlmodel = ct.convert(
            torch.jit.trace(module, examples),  # type: ignore[no-untyped-call]
            inputs=[ct.TensorType(name="x", shape=flexible)],
            minimum_deployment_target=ct.target.iOS16,
        )
        mlmodel.save(str(tmp_path / "flex.mlpackage"))
    outcome = run_preflight(
        PreflightRequest(model=tmp_path / "flex.mlpackage", devices=("iPhone11,8",))
    )
    memory = outcome.report.memory
    assert memory is not None
    assert dict(memory.input_shapes) == {"x": (1, 4, 64, 48)}
    fixed = load_program(
        materialize(
            tmp_path / "flex.mlpackage", {"x": (1, 4, 64, 48)}, tmp_path / "fixed.mlpackage"
        )
    )
    fixed.predict({"x": np.zeros((1, 4, 64, 48), np.float16)}, precision="fp16")
    assert memory.peak_activation_bytes == fixed.last_peak_activation_bytes
    ids = {f.id for f in outcome.report.findings}
    assert {"memory.flexible-shape", "pitfall.range-shapes"} <= ids
    assert outcome.report.inventory is not None
    assert outcome.report.inventory.inputs[0].shape_range == ((1, 1), (4, 4), (8, 64), (8, 48))


@pytest.mark.parametrize("limit_share", [0.5, 0.9, 1.1])
def test_verdict_thresholds_follow_the_share_of_the_app_limit(limit_share: float) -> None:
    from orchestrator.preflight.memory import _against
    from pomar_core.catalog import lookup_iphone

    device = lookup_iphone("iPhone15,2")
    assert device is not None
    row = _against(device, math.ceil(device.app_memory_limit_bytes * limit_share))
    expected = {0.5: MemoryVerdict.FITS, 0.9: MemoryVerdict.TIGHT, 1.1: MemoryVerdict.KILLED}
    assert row.verdict is expected[limit_share]


def _converted(module: torch.nn.Module, examples: tuple[torch.Tensor, ...], tmp: Path) -> Path:
    """The model as `pomar check` would convert it (trace, fp16, iOS16)."""
    from orchestrator.intake import ConversionOptions
    from orchestrator.intake.convert import convert
    from orchestrator.intake.sources import SourceModel

    path = tmp / "model.mlpackage"
    source = SourceModel(module=module, example_inputs=examples, input_names=("x",))
    convert(source, ConversionOptions(), path, name="dilated")
    return path
