"""``pomar status [JOB]``: recent jobs, or one job's runs with where each one is and why."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

import click
from rich.console import Console
from rich.table import Table

from orchestrator.routing import target_of
from orchestrator.store import RunRecord
from orchestrator.stores import open_store
from pomar_core.settings import Settings


def run_row(record: RunRecord) -> dict[str, object]:
    """One run as plain data (``--json``)."""
    result = record.result
    return {
        "run_id": record.run_id,
        "target": "{}:{}".format(*target_of(record.queue)),
        "compute_unit": record.spec.compute_unit.value,
        "status": record.status.value,
        "attempt": record.attempt,
        "device": record.device_udid,
        "detail": record.detail,
        "error": result.error if result else None,
        "updated_at": record.updated_at.isoformat(),
    }


def print_runs(records: Sequence[RunRecord], console: Console | None = None) -> None:
    table = Table(title="runs")
    for name in ("run", "target", "unit", "status", "attempt", "device", "why"):
        table.add_column(name)
    for record in records:
        row = run_row(record)
        why = row["error"] or row["detail"] or ""
        table.add_row(
            record.run_id,
            str(row["target"]),
            str(row["compute_unit"]),
            record.status.value,
            str(record.attempt),
            record.device_udid or "",
            str(why),
        )
    (console or Console()).print(table)


def _runs_of(settings: Settings, job_id: str) -> list[RunRecord]:
    """The job's runs, from the store or through the server; a UsageError (exit 2) naming
    the id when it is unknown."""
    if settings.remote:
        from pomar.remote import remote_runs

        return remote_runs(settings, job_id)
    store = open_store(settings.resolved_store_url)
    store.get_job(job_id)
    return store.list_runs(job_id)


def _recent_jobs(settings: Settings, limit: int) -> list[dict[str, object]]:
    """Newest first: id, label, model, then how many runs are in each status."""
    if settings.remote:
        from pomar.remote import remote_jobs

        return remote_jobs(settings, limit)
    store = open_store(settings.resolved_store_url)
    jobs: list[dict[str, object]] = []
    for job in store.list_jobs(limit):
        counts = Counter(r.status.value for r in store.list_runs(job.job_id))
        jobs.append({"job_id": job.job_id, "label": job.label, "model": job.model.name, **counts})
    return jobs


@click.command()
@click.argument("job_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.pass_obj
def status(settings: Settings, job_id: str | None, as_json: bool, limit: int) -> int:
    """Show recent jobs, or the runs of JOB_ID (queued, waiting and why, running, finished)."""
    if job_id is not None:
        records = _runs_of(settings, job_id)
        if as_json:
            click.echo(json.dumps({"job_id": job_id, "runs": [run_row(r) for r in records]}))
        else:
            print_runs(records)
        return 0
    jobs = _recent_jobs(settings, limit)
    if as_json:
        click.echo(json.dumps({"jobs": jobs}))
        return 0
    table = Table(title="jobs")
    for name in ("job", "model", "label", "runs"):
        table.add_column(name)
    for row in jobs:
        summary = ", ".join(
            f"{v} {k}" for k, v in row.items() if k not in ("job_id", "label", "model")
        )
        table.add_row(str(row["job_id"]), str(row["model"]), str(row["label"] or ""), summary)
    Console().print(table)
    return 0
