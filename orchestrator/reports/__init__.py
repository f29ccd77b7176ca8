"""Reports of a job's runs: the terminal table, and JSON, JUnit XML and a self-contained HTML
page written from one :class:`ResultsDocument`.

Adding a format: write ``orchestrator/reports/<format>.py`` with a class that subclasses
:class:`ReportWriter` and implements ``render(document) -> str`` (``write(document, path)``
comes with it, atomic), then add one line to ``FORMATS`` in ``formats.py`` (its ``--<format>``
help, how to make the writer, and the optional extra it needs, if any). Every command decorated
with ``pomar.options.report_options`` then offers ``--<format> PATH``.
"""

from orchestrator.reports.arrays import ArrayLoader, stored_arrays
from orchestrator.reports.document import ResultsDocument
from orchestrator.reports.files import write_atomically
from orchestrator.reports.formats import (
    FORMATS,
    STDOUT,
    ReportFormat,
    require_formats,
    write_reports,
)
from orchestrator.reports.html import HtmlWriter, html_report
from orchestrator.reports.json_report import JsonWriter, read_json
from orchestrator.reports.junit import JunitWriter, junit_xml
from orchestrator.reports.stored import StoredJob, stored_job
from orchestrator.reports.summary import failure_reasons, reference_sentence, worst_output
from orchestrator.reports.terminal import print_document, print_results, results_table
from orchestrator.reports.writer import ReportWriter

__all__ = [
    "FORMATS",
    "STDOUT",
    "ArrayLoader",
    "HtmlWriter",
    "JsonWriter",
    "JunitWriter",
    "ReportFormat",
    "ReportWriter",
    "ResultsDocument",
    "StoredJob",
    "failure_reasons",
    "html_report",
    "junit_xml",
    "print_document",
    "print_results",
    "read_json",
    "reference_sentence",
    "require_formats",
    "results_table",
    "stored_arrays",
    "stored_job",
    "worst_output",
    "write_atomically",
    "write_reports",
]
