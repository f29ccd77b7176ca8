"""The report-writer interface: render one :class:`ResultsDocument` into one format."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from orchestrator.reports.document import ResultsDocument
from orchestrator.reports.files import write_atomically


class ReportWriter(Protocol):
    """One report format. Subclass it to inherit :meth:`write`; implement :meth:`render`."""

    def render(self, document: ResultsDocument) -> str:
        """The whole report as text (what ``--FORMAT -`` prints to stdout)."""
        ...

    def write(self, document: ResultsDocument, path: Path) -> Path:
        """Write the report atomically: readers see the old file or the whole new one."""
        return write_atomically(path, self.render(document))
