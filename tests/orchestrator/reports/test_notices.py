"""Every report format says which converter shims a conversion used and which comparisons
cannot detect an error."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import numpy as np
import pytest
from rich.console import Console

from orchestrator.parity import compare
from orchestrator.parity.degenerate import ADVICE
from orchestrator.preflight import PreflightReport
from orchestrator.preflight.report import ConversionAttempt
from orchestrator.reports import FORMATS, ResultsDocument, print_document
from pomar_core.wire import ComputeUnit, Precision, RunResult, RunStatus
from tests.orchestrator.reports.conftest import EMU

pytest.importorskip("matplotlib")


def _document() -> ResultsDocument:
    reference = {"probs": np.zeros((1, 10), np.float32)}
    parity = compare(reference, {"probs": np.zeros((1, 10), np.float16)}, precision="fp16")
    run = RunResult(
        run_id="r0",
        job_id="j1",
        device=EMU,
        compute_unit=ComputeUnit.CPU,
        status=RunStatus.PASSED,
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        finished_at=datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
        parity=parity,
    )
    preflight = PreflightReport(
        model="bert.py:build",
        precision=Precision.FP16,
        versions=(),
        conversions=(
            ConversionAttempt(
                front_end="torchscript",
                deployment_target="iOS16",
                converted=True,
                shims=("new_ones", "and"),
            ),
        ),
    )
    return ResultsDocument.of([run], preflight=preflight)


def test_the_document_lists_shims_and_degenerate_outputs() -> None:
    notices = _document().notices
    assert any("new_ones, and" in n and "--no-shims" in n for n in notices)
    assert any(n.startswith("probs:") and ADVICE in n for n in notices)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_shows_the_notices(name: str) -> None:
    text = FORMATS[name].open(None).render(_document())
    assert "new_ones" in text
    assert "cannot detect an error" in text


def test_the_terminal_shows_the_notices() -> None:
    out = io.StringIO()
    print_document(_document(), Console(file=out, width=200))
    assert "converter shims: new_ones, and" in out.getvalue()
    assert ADVICE in out.getvalue()
