"""``pomar results JOB``: the finished runs of a job as a table, JSON, JUnit or HTML."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.stores import open_store
from pomar.exit_codes import exit_code_for
from pomar_core.settings import Settings


@click.command()
@click.argument("job_id")
@click.option("--json", "json_path", default=None, help="Write JSON here ('-' for stdout).")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), default=None)
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None)
@click.pass_obj
def results(
    settings: Settings,
    job_id: str,
    json_path: str | None,
    junit_path: Path | None,
    html_path: Path | None,
) -> int:
    """Report JOB_ID's results; the exit code says whether every finished run passed."""
    from orchestrator import reports
    from orchestrator.reports.json_report import ResultsDocument

    store = open_store(settings.resolved_store_url)
    job = store.get_job(job_id)
    records = store.list_runs(job_id)
    done = [r.result for r in records if r.result is not None]
    if json_path == "-":
        from datetime import UTC, datetime

        doc = ResultsDocument(
            generated_at=datetime.now(UTC), job=job, reference=job.reference, results=tuple(done)
        )
        sys.stdout.write(doc.model_dump_json(indent=2) + "\n")
    elif json_path:
        reports.write_json(done, json_path, job=job)
    if junit_path:
        reports.write_junit(done, junit_path, budgets=job.config.budgets)
    if html_path:
        reports.write_html(done, html_path, job=job)
    if json_path != "-":
        reports.print_results(
            done, reference_description=job.reference.description if job.reference else None
        )
        waiting = len(records) - len(done)
        if waiting:
            click.echo(f"{waiting} run(s) not finished yet: see `pomar status {job_id}`")
    return exit_code_for(done)
