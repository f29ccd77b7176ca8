"""``pomar report JOB``: a job's results, and how they compare with a baseline job.

Exit codes as everywhere (DESIGN.md): the job's own runs decide first (3 infrastructure,
2 bad input, 1 a failed run); a job whose runs all passed exits 1 when it regressed against the
baseline (slower, bigger, or drifted from its parity), else 0.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from pomar_core.arrays import Arrays
from pomar_core.errors import PomarError, UsageError
from pomar_core.settings import Settings
from pomar_core.wire import JobSpec, RunResult


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
@click.option("--json", "json_path", default=None, help="Write JSON here ('-' for stdout).")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), default=None)
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None)
@click.pass_obj
def report(
    settings: Settings,
    job_id: str,
    baseline_id: str | None,
    nightly_label: str | None,
    json_path: str | None,
    junit_path: Path | None,
    html_path: Path | None,
) -> int:
    """Report JOB_ID's results and, with a baseline, its regressions and parity drift."""
    from rich.console import Console

    from orchestrator import reports
    from orchestrator.history import compare_jobs, finished_results, last_with_label
    from orchestrator.reports.history import comparison_html, comparison_renderable
    from orchestrator.reports.json_report import ResultsDocument
    from orchestrator.stores import open_store
    from pomar.exit_codes import EXIT_FAILED, EXIT_OK, exit_code_for

    if baseline_id is not None and nightly_label is not None:
        raise UsageError(
            "--baseline and --last-nightly both name a baseline", hint="give one of them"
        )
    store = open_store(settings.resolved_store_url)
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

    if json_path == "-":
        doc = ResultsDocument(
            generated_at=datetime.now(UTC),
            job=job,
            reference=job.reference,
            results=tuple(done),
            comparison=comparison,
        )
        sys.stdout.write(doc.model_dump_json(indent=2) + "\n")
    elif json_path:
        reports.write_json(done, json_path, job=job, comparison=comparison)
    if junit_path:
        reports.write_junit(done, junit_path, budgets=job.config.budgets, comparison=comparison)
    if html_path:
        reports.write_html(
            done,
            html_path,
            job=job,
            load_arrays=_array_loader(settings, job),
            sections=[comparison_html(comparison)] if comparison is not None else [],
        )
    if json_path != "-":
        console = Console()
        reports.print_results(
            done,
            reference_description=job.reference.description if job.reference else None,
            budgets=job.config.budgets,
            console=console,
        )
        if comparison is not None:
            console.print(comparison_renderable(comparison))
        waiting = len(store.list_runs(job_id)) - len(done)
        if waiting:
            click.echo(f"{waiting} run(s) not finished yet: see `pomar status {job_id}`")
    code = exit_code_for(done)
    if code == EXIT_OK and comparison is not None and comparison.regressed:
        return EXIT_FAILED
    return code


def _array_loader(settings: Settings, job: JobSpec) -> Any:
    """Reference and output arrays for the HTML report's histograms, from the artifact store.

    A run whose arrays are gone (pruned, or on another machine's disk) gets empty mappings: the
    report then shows the worst element recorded in the result instead of a histogram.
    """
    from pomar_core.artifact_stores.local import LocalArtifactStore
    from pomar_core.artifacts import load_array, load_arrays

    artifacts = LocalArtifactStore(settings.artifacts_dir)
    reference: dict[str, Any] | None = None

    def load(result: RunResult) -> tuple[Arrays, Arrays]:
        nonlocal reference
        if job.reference is None:
            return {}, {}
        try:
            if reference is None:
                reference = dict(load_arrays(artifacts, job.reference.sha256))
            actual = {o.name: load_array(artifacts, o.sha256) for o in result.outputs}
        except PomarError:
            return {}, {}
        return reference, actual

    return load
