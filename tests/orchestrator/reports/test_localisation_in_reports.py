"""Every report format says which op a failing run's device got wrong."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console

from orchestrator.reports import FORMATS, ResultsDocument, print_document
from pomar_core.wire import (
    ComputeUnit,
    Culprit,
    DeviceInfo,
    DeviceKind,
    Localisation,
    LocalisationStatus,
    RunResult,
    RunStatus,
    TensorError,
)

SENTENCE = "localised to 'relu_7' (relu) in 3 device runs: output rel L2 0.62 vs fp16 noise"


def failing_run() -> RunResult:
    now = datetime.now(UTC)
    culprit = Culprit(
        op="relu_7",
        op_type="relu",
        inputs=(TensorError(name="add_6", error=3e-4, noise=3e-4, diverged=False),),
        output=TensorError(name="relu_7", error=0.62, noise=3e-4, diverged=True),
        source_module="block2",
    )
    loc = Localisation(
        run_id="run-1",
        status=LocalisationStatus.FOUND,
        max_runs=12,
        ops=9,
        cuts=4,
        lo=1,
        hi=2,
        culprit=culprit,
        detail="found",
        started_at=now,
        finished_at=now,
        probes=tuple(
            {"job_id": f"job-p{i}", "position": i, "exposed": ("t",), "diverged": True}
            for i in range(3)
        ),
    )
    return RunResult(
        run_id="run-1",
        job_id="job-1",
        device=DeviceInfo(
            udid="P1", kind=DeviceKind.IOS, product_type="iPhone15,2", marketing_name="iPhone"
        ),
        compute_unit=ComputeUnit.GPU,
        status=RunStatus.PARITY_FAILED,
        localisation=loc,
    )


def test_the_terminal_report_names_the_op_and_its_source_module() -> None:
    out = io.StringIO()
    print_document(ResultsDocument.of([failing_run()]), Console(file=out, width=400))
    text = out.getvalue()
    assert SENTENCE in text
    assert "inputs: add_6 rel L2 0.0003 vs fp16 noise 0.0003; source module block2" in text


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_every_format_carries_the_localisation(name: str) -> None:
    fmt = FORMATS[name]
    if fmt.needs is not None:
        pytest.importorskip(fmt.needs[0])
    rendered = fmt.open(None).render(ResultsDocument.of([failing_run()]))
    assert "relu_7" in rendered
    if name != "json":  # JSON carries the structure; the others the sentence
        assert "localised to" in rendered
