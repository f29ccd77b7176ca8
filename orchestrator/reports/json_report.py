"""``--json``: the results document as JSON (NaN/Inf metrics are strings, ``"Infinity"``)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.reports.document import ResultsDocument
from orchestrator.reports.writer import ReportWriter


class JsonWriter(ReportWriter):
    """The document itself; a preflight-only document is its bare ``PreflightReport``, the
    format ``pomar preflight --json`` has always written."""

    def render(self, document: ResultsDocument) -> str:
        if document.preflight_only and document.preflight is not None:
            return document.preflight.model_dump_json(indent=2) + "\n"
        return document.model_dump_json(indent=2) + "\n"


def read_json(path: str | Path) -> ResultsDocument:
    """Read a document written by :class:`JsonWriter`."""
    return ResultsDocument.model_validate_json(Path(path).read_bytes())
