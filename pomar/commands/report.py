"""``pomar report JOB``: a job's results, and how they compare with a baseline job.

Exit codes as everywhere (DESIGN.md): the job's own runs decide first (3 infrastructure,
2 bad input, 1 a failed run); a job whose runs all passed exits 1 when it regressed against the
baseline (slower, bigger, or drifted from its parity), else 0.
"""

from __future__ import annotations

import click

from orchestrator.reports import stored_job
from orchestrator.stores import open_store
from pomar.commands.results import show_stored
from pomar.options import ReportTargets, report_options
from pomar_core.settings import Settings


@click.command()
@click.argument("job_id")
@click.option("--baseline", "baseline_id", default=None, metavar="JOB", help="Compare with JOB.")
@click.option(
    "--last-nightly",
    "nightly_label",
    default=None,
    metavar="LABEL",
    help="Compare with the newest job labelled LABEL submitted before JOB_ID.",
)
@report_options
@click.pass_obj
def report(
    settings: Settings,
    job_id: str,
    baseline_id: str | None,
    nightly_label: str | None,
    reports: ReportTargets,
) -> int:
    """Report JOB_ID's results and, with a baseline, its regressions and parity drift."""
    if settings.remote:
        from pomar.remote import remote_stored

        served, artifacts = remote_stored(
            settings, job_id, baseline_id=baseline_id, nightly_label=nightly_label
        )
        return show_stored(settings, job_id, served, reports, artifacts)
    store = open_store(settings.resolved_store_url)
    stored = stored_job(store, job_id, baseline_id=baseline_id, nightly_label=nightly_label)
    return show_stored(settings, job_id, stored, reports)
