"""The documented exit codes of every ``pomar`` command, and how a set of runs maps to one.

0 every run passed; 1 a run failed its parity or budget check, or the model was killed or
crashed; 2 bad usage or bad input (one line, no traceback); 3 infrastructure failure.
"""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.reports import ResultsDocument
from pomar_core.wire import RunResult, RunStatus

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INFRA = 0, 1, 2, 3


def exit_code_for(results: Sequence[RunResult]) -> int:
    """Infrastructure failures first (the answer is incomplete), then bad input, then model
    failures."""
    statuses = {r.status for r in results}
    if statuses & {RunStatus.DEVICE_LOST, RunStatus.TIMEOUT, RunStatus.CANCELLED}:
        return EXIT_INFRA
    if RunStatus.ERROR in statuses:
        return EXIT_USAGE
    failed = {
        RunStatus.PARITY_FAILED,
        RunStatus.BUDGET_FAILED,
        RunStatus.OOM_KILLED,
        RunStatus.CRASHED,
    }
    if statuses & failed:
        return EXIT_FAILED
    return EXIT_OK


def exit_code_for_document(document: ResultsDocument) -> int:
    """The runs decide first (:func:`exit_code_for`); a job whose runs all passed exits 1 when
    it regressed against its baseline (slower, bigger, or drifted from its parity)."""
    code = exit_code_for(document.results)
    if code == EXIT_OK and document.comparison is not None and document.comparison.regressed:
        return EXIT_FAILED
    return code
