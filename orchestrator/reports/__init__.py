"""Reports of a job's runs: the terminal table, JSON, JUnit XML and a self-contained HTML page."""

from orchestrator.reports.files import write_atomically
from orchestrator.reports.html import ArrayLoader, html_report, write_html
from orchestrator.reports.json_report import ResultsDocument, read_json, write_json
from orchestrator.reports.junit import junit_xml, write_junit
from orchestrator.reports.summary import failure_reasons, reference_sentence, worst_output
from orchestrator.reports.terminal import print_results, results_table

__all__ = [
    "ArrayLoader",
    "ResultsDocument",
    "failure_reasons",
    "html_report",
    "junit_xml",
    "print_results",
    "read_json",
    "reference_sentence",
    "results_table",
    "worst_output",
    "write_atomically",
    "write_html",
    "write_json",
    "write_junit",
]
