"""``--json``: the full results as one JSON document, written atomically."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from orchestrator.history import JobComparison
from orchestrator.reports.files import write_atomically
from pomar_core.wire import PROTOCOL_VERSION, JobSpec, Reference, RunResult, WireModel


class ResultsDocument(WireModel):
    """What ``--json`` writes: the runs, and the job and reference they belong to."""

    protocol: Literal[1] = PROTOCOL_VERSION
    generated_at: datetime
    job: JobSpec | None = None
    reference: Reference | None = None
    results: tuple[RunResult, ...]
    comparison: JobComparison | None = None
    """The job against a baseline job (``pomar report --baseline``)."""


def write_json(
    results: Sequence[RunResult],
    path: str | Path,
    *,
    job: JobSpec | None = None,
    reference: Reference | None = None,
    comparison: JobComparison | None = None,
) -> Path:
    """Write the results document; NaN/Inf metrics are JSON strings (``"Infinity"``)."""
    document = ResultsDocument(
        generated_at=datetime.now(UTC),
        job=job,
        reference=reference if reference is not None else (job.reference if job else None),
        results=tuple(results),
        comparison=comparison,
    )
    return write_atomically(path, document.model_dump_json(indent=2) + "\n")


def read_json(path: str | Path) -> ResultsDocument:
    """Read a document written by :func:`write_json`."""
    return ResultsDocument.model_validate_json(Path(path).read_bytes())
