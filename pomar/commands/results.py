"""``pomar results JOB``: the finished runs of a job as a table, JSON, JUnit or HTML."""

from __future__ import annotations

import click

from orchestrator.reports import STDOUT, StoredJob, print_document, stored_job, write_reports
from orchestrator.stores import open_store
from pomar.exit_codes import exit_code_for_document
from pomar.options import ReportTargets, report_options
from pomar_core.artifact_stores import open_artifacts
from pomar_core.artifacts import ArtifactStore
from pomar_core.settings import Settings


@click.command()
@click.argument("job_id")
@report_options
@click.pass_obj
def results(settings: Settings, job_id: str, reports: ReportTargets) -> int:
    """Report JOB_ID's results; the exit code says whether every finished run passed."""
    if settings.remote:
        from pomar.remote import remote_stored

        stored, artifacts = remote_stored(settings, job_id)
        return show_stored(settings, job_id, stored, reports, artifacts)
    stored = stored_job(open_store(settings.resolved_store_url), job_id)
    return show_stored(settings, job_id, stored, reports)


def show_stored(
    settings: Settings,
    job_id: str,
    stored: StoredJob,
    reports: ReportTargets,
    artifacts: ArtifactStore | None = None,
) -> int:
    """Write the reports, print the table unless a report goes to stdout, and return the exit
    code. The HTML histograms read arrays through ``artifacts`` (default: the configured
    artifact store)."""
    write_reports(stored.document, reports, artifacts or open_artifacts(settings))
    if STDOUT not in reports.values():
        print_document(stored.document)
        if stored.waiting:
            click.echo(f"{stored.waiting} run(s) not finished yet: see `pomar status {job_id}`")
    return exit_code_for_document(stored.document)
