"""Conversion with both front ends, and what preflight says when a model does not convert."""

from __future__ import annotations

from pathlib import Path

import torch

from orchestrator.preflight import PreflightOutcome, PreflightRequest, Severity, run_preflight
from tests.orchestrator.preflight import models


def test_unconvertible_model_is_refused_with_the_op_and_its_module_path(
    unconvertible: PreflightOutcome,
) -> None:
    report = unconvertible.report
    assert unconvertible.refused
    assert report.exit_code == 1
    failed = [f for f in report.findings if f.id == "convert.failed"]
    assert len(failed) == 1
    assert failed[0].severity is Severity.ERROR
    assert "lgamma" in failed[0].message
    assert failed[0].op == "block.1"
    assert failed[0].hint
    assert "register_torch_op" in failed[0].hint
    assert unconvertible.reason is not None
    assert unconvertible.reason.startswith("preflight: ")
    assert "lgamma" in unconvertible.reason
    assert "\n" not in unconvertible.reason


def test_both_front_ends_are_tried_at_every_requested_target(
    unconvertible: PreflightOutcome,
) -> None:
    tried = {(a.front_end, a.deployment_target) for a in unconvertible.report.conversions}
    assert tried == {
        ("torchscript", "iOS16"),
        ("torch_export", "iOS16"),
        ("torchscript", "iOS18"),
        ("torch_export", "iOS18"),
    }
    for attempt in unconvertible.report.conversions:
        assert not attempt.converted
        assert [u.op for u in attempt.unsupported_ops] == ["lgamma"]
        assert attempt.unsupported_ops[0].module_paths == ("block.1",)


def test_unconvertible_model_stops_before_inventory_and_memory(
    unconvertible: PreflightOutcome,
) -> None:
    assert unconvertible.report.inventory is None
    assert unconvertible.report.memory is None


def test_a_convertible_model_reports_both_front_ends_and_the_versions_used(
    dilated: PreflightOutcome,
) -> None:
    report = dilated.report
    assert {a.front_end for a in report.conversions if a.converted} == {
        "torchscript",
        "torch_export",
    }
    versions = dict(report.versions)
    assert versions["coremltools"] == "9.0"
    assert versions["torch"].startswith("2.")
    assert not dilated.refused


def test_a_torchscript_file_names_the_python_line_of_an_unsupported_op(tmp_path: Path) -> None:
    module, examples = models.build_unconvertible()
    path = tmp_path / "model.pt"
    torch.jit.save(torch.jit.trace(module, examples), str(path))  # type: ignore[no-untyped-call]
    outcome = run_preflight(PreflightRequest(model=path, devices=()))
    attempts = outcome.report.conversions
    assert [a.front_end for a in attempts] == ["torchscript"]
    (where,) = attempts[0].unsupported_ops[0].module_paths
    assert "models.py(" in where
    assert outcome.refused
