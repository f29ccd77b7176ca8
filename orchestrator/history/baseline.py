"""Finding a job's baseline in the store: a named job, or the last nightly with a label."""

from __future__ import annotations

from orchestrator.store import JobStore
from pomar_core.errors import UsageError
from pomar_core.wire import JobSpec, RunResult

SEARCH_LIMIT = 1000
"""How many recent jobs ``--last-nightly`` looks through."""


def last_with_label(store: JobStore, label: str, before: JobSpec) -> JobSpec:
    """The newest job labelled ``label`` submitted before ``before`` (never ``before`` itself).

    Raises:
        UsageError: no such job.
    """
    for job in store.list_jobs(SEARCH_LIMIT):  # newest first
        earlier = job.submitted_at < before.submitted_at
        if job.label == label and job.job_id != before.job_id and earlier:
            return job
    raise UsageError(
        f"no job labelled '{label}' was submitted before {before.job_id}",
        hint="see labels with `pomar status`, or name the baseline with --baseline JOB",
    )


def finished_results(store: JobStore, job_id: str) -> list[RunResult]:
    """The results of a job's finished runs, in the store's order."""
    return [r.result for r in store.list_runs(job_id) if r.result is not None]
