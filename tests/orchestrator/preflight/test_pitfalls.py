"""Known-pitfall rules, each on the smallest program that shows the pattern."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from orchestrator.preflight import PreflightOutcome, PreflightRequest, Severity, run_preflight
from orchestrator.preflight.pitfalls import PITFALLS
from orchestrator.preflight.rules import RuleContext, run_rules
from tests.orchestrator.preflight.conftest import FACTORIES


def _save(build: Callable[..., Any], shapes: list[tuple[int, ...]], path: Path) -> Path:
    """Build a MIL program with fp32 inputs of ``shapes`` and save it as an fp16 ML program."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    from orchestrator.intake.quiet import captured_stderr

    specs = [mb.TensorSpec(shape=s) for s in shapes]
    program = mb.program(input_specs=specs, opset_version=ct.target.iOS16)(build)
    with captured_stderr():
        model = ct.convert(
            program, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16
        )
        model.save(str(path))
    return path


def _preflight(path: Path) -> PreflightOutcome:
    return run_preflight(PreflightRequest(model=path, devices=("iPhone17,1",)))


def _softplus(x: Any) -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb.softplus(x=x)


def _logsumexp(x: Any) -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb.reduce_log_sum_exp(x=x, axes=[1])


def _log_softmax(x: Any) -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb.log(x=mb.softmax(x=x, axis=-1))


def _logcumsumexp(x: Any) -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb.log(x=mb.cumsum(x=mb.exp(x=x), axis=1))


def _topk(x: Any) -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb.topk(x=x, k=2, axis=-1)[0]


def _wide(x: Any) -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb.relu(x=x)


def _hand_rolled_rms(x: Any) -> Any:
    from coremltools.converters.mil import Builder as mb

    mean = mb.reduce_mean(x=mb.mul(x=x, y=x), axes=[-1], keep_dims=True)
    return mb.mul(x=x, y=mb.rsqrt(x=mb.add(x=mean, y=1e-5)))


def _dynamic_conv(x: Any, w: Any) -> Any:
    from coremltools.converters.mil import Builder as mb

    return mb.conv(x=x, weight=mb.relu(x=w))


CASES = [
    ("pitfall.softplus", _softplus, [(1, 32)]),
    ("pitfall.logsumexp", _logsumexp, [(1, 32, 4)]),
    ("pitfall.log-softmax", _log_softmax, [(1, 10)]),
    ("pitfall.logcumsumexp", _logcumsumexp, [(1, 16)]),
    ("pitfall.topk-gather", _topk, [(1, 16)]),
    ("pitfall.dim-over-16384", _wide, [(1, 20000)]),
    ("pitfall.rms-norm-fp16", _hand_rolled_rms, [(1, 4, 32)]),
    ("pitfall.dynamic-weight-conv", _dynamic_conv, [(1, 2, 8, 8), (4, 2, 3, 3)]),
]


@pytest.mark.parametrize(("rule_id", "build", "shapes"), CASES, ids=[c[0] for c in CASES])
def test_each_pattern_trips_its_rule_with_a_cited_source(
    rule_id: str, build: Callable[..., Any], shapes: list[tuple[int, ...]], tmp_path: Path
) -> None:
    outcome = _preflight(_save(build, shapes, tmp_path / "m.mlpackage"))
    hits = [f for f in outcome.report.findings if f.id == rule_id]
    assert hits, [f.id for f in outcome.report.findings]
    assert hits[0].source
    assert hits[0].source.startswith("https://github.com/")
    assert not outcome.refused


def test_a_float32_minimum_mask_is_flagged_in_fp16(masked: PreflightOutcome) -> None:
    hits = [f for f in masked.report.findings if f.id == "pitfall.fp32-min-mask"]
    assert len(hits) == 1
    assert hits[0].severity is Severity.WARNING
    assert hits[0].source == "https://github.com/apple/coremltools/pull/2669"
    assert "NaN" in hits[0].message


def test_dilated_convolutions_are_flagged_once_per_conv(dilated: PreflightOutcome) -> None:
    hits = [f for f in dilated.report.findings if f.id == "pitfall.dilated-conv"]
    assert len(hits) == 2
    assert "[2, 2]" in hits[0].message
    assert "[4, 4]" in hits[1].message
    assert all(h.op for h in hits)


def test_torch_rms_norm_lowering_is_flagged() -> None:
    outcome = run_preflight(
        PreflightRequest(model=f"{FACTORIES}:build_torch_rms_norm", devices=("iPhone17,1",))
    )
    assert any(f.id == "pitfall.rms-norm-lowering" for f in outcome.report.findings)


def test_clean_models_trip_no_pitfall(loud: PreflightOutcome) -> None:
    assert not [f for f in loud.report.findings if f.id.startswith("pitfall.")]


def test_weights_over_two_gigabytes_block_the_run(
    dilated: PreflightOutcome, tmp_path: Path
) -> None:
    from coreml_emulator.loading import load_model
    from tests.orchestrator.preflight import models
    from tests.orchestrator.preflight.test_memory import _converted

    inventory = dilated.report.inventory
    assert inventory is not None
    module, examples = models.build_dilated()
    package = _converted(module, examples, tmp_path)
    context = RuleContext(
        operations=tuple(load_model(package).function.operations),
        inputs=inventory.inputs,
        outputs=inventory.outputs,
        precision=dilated.report.precision,
        inventory=inventory,
        weight_file_bytes=0,
    )
    assert not [f for f in run_rules(PITFALLS, context) if f.id == "pitfall.weights-over-2gb"]
    huge = dataclasses.replace(context, weight_file_bytes=2**31 + 1)
    hits = [f for f in run_rules(PITFALLS, huge) if f.id == "pitfall.weights-over-2gb"]
    assert [h.severity for h in hits] == [Severity.ERROR]


def test_every_rule_has_a_unique_id_and_a_public_source() -> None:
    ids = [rule.id for rule in PITFALLS]
    assert len(ids) == len(set(ids))
    assert all(rule.source.startswith("https://") for rule in PITFALLS)
    assert all(rule.id.startswith("pitfall.") for rule in PITFALLS)


def test_palettized_weights_are_inventoried_by_compression(tmp_path: Path) -> None:
    import coremltools as ct

    from orchestrator.intake.quiet import captured_stderr
    from orchestrator.preflight.inventory import take_inventory

    def linear(x: Any) -> Any:
        from coremltools.converters.mil import Builder as mb

        weight = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
        return mb.linear(x=x, weight=weight)

    dense = _save(linear, [(1, 64)], tmp_path / "dense.mlpackage")
    with captured_stderr():
        config = ct.optimize.coreml.OptimizationConfig(
            global_config=ct.optimize.coreml.OpPalettizerConfig(nbits=4, mode="uniform")
        )
        compressed = ct.optimize.coreml.palettize_weights(
            ct.models.MLModel(str(dense), skip_model_load=True), config
        )
        compressed.save(str(tmp_path / "lut.mlpackage"))
    inventory = take_inventory(tmp_path / "lut.mlpackage", "lut")
    lut = [w for w in inventory.weights if w.compression == "constexpr_lut_to_dense"]
    assert len(lut) == 1
    assert lut[0].decompressed_bytes == 64 * 64 * 2
    # 4-bit indices (2048 bytes) plus a 16-entry fp16 table.
    assert lut[0].stored_bytes == 64 * 64 // 2 + 16 * 2
    outcome = _preflight(tmp_path / "lut.mlpackage")
    assert any(f.id == "pitfall.compressed-weights" for f in outcome.report.findings)


def test_a_model_the_emulator_cannot_take_still_gets_inventory_and_pitfalls(
    tmp_path: Path,
) -> None:
    import coremltools as ct
    import torch

    from orchestrator.intake.quiet import captured_stderr

    class ImageConv(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 3, 3, dilation=2)

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.conv(image)
            return out

    traced = torch.jit.trace(ImageConv().eval(), torch.rand(1, 3, 24, 24))  # type: ignore[no-untyped-call]
    with captured_stderr():
        model = ct.convert(
            traced,
            inputs=[ct.ImageType(name="image", shape=(1, 3, 24, 24))],
            # The emulator takes image inputs but not image outputs.
            outputs=[ct.ImageType(name="out")],
            minimum_deployment_target=ct.target.iOS16,
        )
        model.save(str(tmp_path / "image.mlpackage"))
    outcome = _preflight(tmp_path / "image.mlpackage")
    ids = [f.id for f in outcome.report.findings]
    assert "pitfall.dilated-conv" in ids
    assert "memory.skipped" in ids
    assert outcome.report.inventory is not None
    assert outcome.report.inventory.inputs[0].is_image
    assert outcome.report.exit_code == 0
