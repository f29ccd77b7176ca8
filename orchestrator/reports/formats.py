"""The registry of report formats: ``--json``, ``--junit``, ``--html``, and how to write them.

A format is one module with a :class:`~orchestrator.reports.writer.ReportWriter` and one line
in :data:`FORMATS`; ``pomar.options.report_options`` turns every entry into a ``--NAME PATH``
option of ``check``, ``results``, ``report`` and ``preflight``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from orchestrator.reports.document import ResultsDocument
from orchestrator.reports.html import HtmlWriter
from orchestrator.reports.json_report import JsonWriter
from orchestrator.reports.junit import JunitWriter
from orchestrator.reports.writer import ReportWriter
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import UsageError

STDOUT = Path("-")
"""The path that means "print it": ``--json -``."""


@dataclass(frozen=True)
class ReportFormat:
    """One entry of the registry."""

    help: str
    """The ``--NAME`` option's help."""
    open: Callable[[ArtifactStore | None], ReportWriter]
    """Makes the writer; the artifact store (or None) is where it may read run arrays."""
    needs: tuple[str, str] | None = None
    """(module, extra) of an optional dependency: ``("matplotlib", "reports")``."""


FORMATS: dict[str, ReportFormat] = {
    "json": ReportFormat("Write the results as JSON.", lambda _: JsonWriter()),
    "junit": ReportFormat("Write JUnit XML for CI.", lambda _: JunitWriter()),
    "html": ReportFormat(
        "Write one self-contained HTML page.", HtmlWriter, ("matplotlib", "reports")
    ),
}


def require_formats(names: Mapping[str, Path] | tuple[str, ...]) -> None:
    """Raise ``UsageError`` (exit 2, naming the extra) if a format's optional dependency is
    missing, before any work is done. Unknown names are bad usage too."""
    for name in names:
        if name not in FORMATS:
            known = ", ".join(sorted(FORMATS))
            raise UsageError(f"unknown report format '{name}'", hint=f"use one of {known}")
        needs = FORMATS[name].needs
        if needs is None:
            continue
        module, extra = needs
        try:
            importlib.import_module(module)
        except ImportError:
            raise UsageError(
                f"--{name} needs {module}", hint=f"pip install 'pomar[{extra}]'"
            ) from None


def write_reports(
    document: ResultsDocument,
    targets: Mapping[str, Path],
    artifacts: ArtifactStore | None = None,
    *,
    stdout: TextIO | None = None,
) -> list[Path]:
    """Write ``document`` in every format of ``targets`` (format name → path; ``-`` prints it).
    Returns the files written."""
    require_formats(tuple(targets))
    written: list[Path] = []
    for name, path in targets.items():
        writer = FORMATS[name].open(artifacts)
        if path == STDOUT:
            (stdout or sys.stdout).write(writer.render(document))
        else:
            written.append(writer.write(document, path))
    return written
