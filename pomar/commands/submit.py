"""``pomar submit MODEL``: prepare a job (intake, inputs, reference) and hand it to the farm."""

from __future__ import annotations

import json
from typing import Any

import click

from orchestrator.check_job import prepare_job, wait_for_runs
from pomar.exit_codes import exit_code_for
from pomar.options import build_request, job_options
from pomar_core.settings import Settings


@click.command()
@click.argument("model")
@job_options
@click.option(
    "--priority",
    type=click.IntRange(0, 9),
    default=5,
    show_default=True,
    help="0-9, 9 most urgent: a more urgent job's queued runs start first on each device or pool.",
)
@click.option("--wait", is_flag=True, help="Follow progress until every run finished.")
@click.option("--json", "as_json", is_flag=True, help="Print the job id (and runs) as JSON.")
@click.pass_obj
def submit(
    settings: Settings,
    /,
    model: str,
    priority: int,
    wait: bool,
    as_json: bool,
    **opts: Any,
) -> int:
    """Submit MODEL to the farm and print the job id (POMAR_BROKER_URL, or POMAR_SERVER_URL
    and POMAR_TOKEN, must be set)."""
    request = build_request(model, **opts)
    if settings.remote:
        from pomar.remote import remote_submit, remote_wait

        job_id, run_ids = remote_submit(settings, request, priority)
    else:
        from orchestrator.farm import connect

        farm = connect(settings)
        prepared = prepare_job(request, farm.artifacts, settings.data_dir / "cache")
        job = prepared.job.model_copy(update={"priority": priority})
        job_id, run_ids = job.job_id, [r.run_id for r in farm.coordinator.submit(job)]
    if as_json:
        click.echo(json.dumps({"job_id": job_id, "runs": run_ids}))
    else:
        click.echo(job_id)
    if not wait:
        return 0
    timeout_s = request.config.timeout_s * max(1, len(run_ids))
    if settings.remote:
        records = remote_wait(settings, job_id, timeout_s)
    else:
        records = wait_for_runs(farm.store, job_id, timeout_s=timeout_s, poll_s=0.5)
    results = [r.result for r in records if r.result is not None]
    from pomar.commands.status import print_runs

    print_runs(records)
    return exit_code_for(results)
