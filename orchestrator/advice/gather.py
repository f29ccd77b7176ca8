"""The runs advice is computed from: one job, or every job carrying a label (a nightly
schedule's, a release's) for the newest model under that label. Localisation probes never
count: they ran a variant of the model, not the model."""

from __future__ import annotations

from orchestrator.advice.compute import Advice, advise
from orchestrator.store import JobStore
from pomar_core.errors import UsageError
from pomar_core.wire import JobSpec

MAX_JOBS = 100_000


def advice_for(store: JobStore, job_or_label: str) -> Advice:
    """The advice from the runs of ``job_or_label`` (a job id, else a label)."""
    jobs = _jobs(store, job_or_label)
    model = jobs[0].model
    same_model = [j for j in jobs if j.model.sha256 == model.sha256]
    results = [
        record.result
        for job in same_model
        for record in store.list_runs(job.job_id)
        if record.result is not None
    ]
    if not results:
        raise UsageError(
            f"{job_or_label} has no finished runs yet",
            hint=f"wait for them (`pomar status {same_model[0].job_id}`) and advise again",
        )
    return advise(model.name, model.sha256, [j.job_id for j in same_model], results)


def _jobs(store: JobStore, job_or_label: str) -> list[JobSpec]:
    """Newest first."""
    try:
        return [store.get_job(job_or_label)]
    except UsageError:
        pass
    labelled = [
        j for j in store.list_jobs(limit=MAX_JOBS) if j.label == job_or_label and j.probe_of is None
    ]
    if not labelled:
        raise UsageError(
            f"no job or label '{job_or_label}'",
            hint="pass a job id or a job label (`pomar results` lists jobs)",
        )
    return labelled
