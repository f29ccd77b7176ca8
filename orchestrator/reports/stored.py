"""A job's results document read back from the job store (``pomar results``, ``pomar report``),
with the comparison against a baseline job when one is named."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.history import compare_jobs, finished_results, last_with_label
from orchestrator.reports.document import ResultsDocument
from orchestrator.store import JobStore
from pomar_core.errors import UsageError
from pomar_core.wire import JobSpec


@dataclass(frozen=True)
class StoredJob:
    document: ResultsDocument
    """The finished runs (and the comparison, with a baseline)."""
    waiting: int
    """Runs of the job not finished yet, so not in the document."""


def stored_job(
    store: JobStore,
    job_id: str,
    *,
    baseline_id: str | None = None,
    nightly_label: str | None = None,
) -> StoredJob:
    """The job's finished runs; compared with ``baseline_id`` or with the newest job labelled
    ``nightly_label`` submitted before it, if either is given.

    Raises:
        UsageError: both baselines given, or a job or label the store does not have.
    """
    if baseline_id is not None and nightly_label is not None:
        raise UsageError(
            "--baseline and --last-nightly both name a baseline", hint="give one of them"
        )
    job = store.get_job(job_id)
    done = finished_results(store, job_id)
    baseline: JobSpec | None = None
    if baseline_id is not None:
        baseline = store.get_job(baseline_id)
    elif nightly_label is not None:
        baseline = last_with_label(store, nightly_label, job)
    comparison = None
    if baseline is not None:
        comparison = compare_jobs(
            done,
            finished_results(store, baseline.job_id),
            job_id=job_id,
            baseline_job_id=baseline.job_id,
        )
    waiting = len(store.list_runs(job_id)) - len(done)
    return StoredJob(ResultsDocument.of(done, job=job, comparison=comparison), waiting)
