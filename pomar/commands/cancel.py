"""``pomar cancel JOB``: stop a job's queued runs; running ones are told to stop."""

from __future__ import annotations

import click

from pomar_core.settings import Settings


@click.command()
@click.argument("job_id")
@click.pass_obj
def cancel(settings: Settings, job_id: str) -> int:
    """Cancel every unfinished run of JOB_ID."""
    if settings.remote:
        from pomar.remote import remote_cancel

        n = remote_cancel(settings, job_id)
    else:
        from orchestrator.farm import connect

        farm = connect(settings)
        farm.store.get_job(job_id)
        n = farm.coordinator.cancel(job_id)
    click.echo(f"cancelled {n} run(s) of {job_id}")
    return 0
