"""FP16 range risks found by tracing the fp32 program on the input set."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from orchestrator.preflight import PreflightOutcome, PreflightRequest, Severity, run_preflight
from orchestrator.preflight.ranges import FLUSH_TO_ZERO, HALF_MAX
from pomar_core.wire import Precision
from tests.orchestrator.preflight import models
from tests.orchestrator.preflight.conftest import FACTORIES


def _loud_intermediates() -> tuple[torch.Tensor, torch.Tensor]:
    """``loud`` and ``loud × 1024`` on the input preflight generates (seed 0, standard normal)."""
    module, _ = models.build_loud_layer_norm()
    assert isinstance(module, models.LoudLayerNorm)
    x = np.random.default_rng(0).standard_normal((1, 4, 64), dtype=np.float32)
    # Preflight feeds the model's declared input dtype (fp16 at iOS16 with fp16 compute).
    features = torch.from_numpy(x.astype(np.float16).astype(np.float32))
    with torch.no_grad():
        loud = module.fc(features) * 64.0
    return loud, loud * 1024.0


def test_activations_over_the_half_range_are_flagged_with_their_factor(
    loud: PreflightOutcome,
) -> None:
    _, louder = _loud_intermediates()
    overflows = [r for r in loud.report.ranges if r.kind == "overflow"]
    assert [r.op_type for r in overflows] == ["mul"]
    expected = float(louder.abs().max()) / HALF_MAX
    assert overflows[0].factor == pytest.approx(expected, rel=1e-4)
    assert overflows[0].factor > 1
    finding = next(f for f in loud.report.findings if f.id == "fp16.overflow")
    assert finding.severity is Severity.WARNING
    assert finding.op == overflows[0].op
    assert f"{expected:.3g}x" in finding.message


def test_a_norm_whose_sum_of_squares_overflows_is_flagged_though_its_output_fits(
    loud: PreflightOutcome,
) -> None:
    centred, _ = _loud_intermediates()
    centred = centred - centred.mean(dim=-1, keepdim=True)
    expected = float((centred**2).sum(dim=-1).max()) / HALF_MAX
    sums = [r for r in loud.report.ranges if r.kind == "partial-sum"]
    assert [r.op_type for r in sums] == ["layer_norm"]
    assert sums[0].factor == pytest.approx(expected, rel=1e-4)
    assert not any(r.op == sums[0].op and r.kind == "overflow" for r in loud.report.ranges)


def test_overflow_does_not_block_a_run(loud: PreflightOutcome) -> None:
    assert not loud.refused
    assert loud.report.exit_code == 0


def test_values_that_flush_to_zero_in_half_are_flagged_as_underflow() -> None:
    outcome = run_preflight(
        PreflightRequest(model=f"{FACTORIES}:build_underflow", devices=("iPhone17,1",))
    )
    under = [r for r in outcome.report.ranges if r.kind == "underflow"]
    assert [r.op_type for r in under] == ["mul"]
    assert under[0].factor == 1.0  # every non-zero value flushes
    assert 0 < under[0].value < FLUSH_TO_ZERO


def test_an_fp16_package_shows_its_overflow_as_the_first_non_finite_op(tmp_path: Path) -> None:
    from tests.orchestrator.preflight.test_memory import _converted

    module, examples = models.build_loud_layer_norm()
    package = _converted(module, examples, tmp_path)
    outcome = run_preflight(PreflightRequest(model=package, devices=("iPhone17,1",)))
    kinds = [(r.kind, r.op_type) for r in outcome.report.ranges]
    assert ("non-finite", "mul") in kinds
    bad = next(r for r in outcome.report.ranges if r.kind == "non-finite")
    assert math.isinf(bad.factor)


def test_at_fp32_range_risks_are_context_not_warnings() -> None:
    from orchestrator.intake import ConversionOptions

    outcome = run_preflight(
        PreflightRequest(
            model=f"{FACTORIES}:build_loud_layer_norm",
            conversion=ConversionOptions(precision=Precision.FP32),
            devices=("iPhone17,1",),
        )
    )
    fp16 = [f for f in outcome.report.findings if f.id.startswith("fp16.")]
    assert fp16
    assert {f.severity for f in fp16} == {Severity.INFO}
