"""``pomar check MODEL``: the main job, embedded on this host's devices or on a farm."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from orchestrator.check_job import (
    CheckRequest,
    PreparedJob,
    prepare_job,
    run_arrays_loader,
    wait_for_runs,
)
from orchestrator.store import RunRecord
from orchestrator.stores import open_store
from pomar.exit_codes import exit_code_for
from pomar.options import build_request, job_options
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import UsageError
from pomar_core.settings import Settings
from pomar_core.wire import RunResult, RunStatus


@click.command()
@click.argument("model")
@job_options
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Write every run with its metrics as JSON.",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Write JUnit XML: one test case per device and compute unit.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Write one self-contained HTML report.",
)
@click.option("--quiet", is_flag=True, help="No progress display and no table.")
@click.pass_obj
def check(
    settings: Settings,
    /,
    model: str,
    json_path: Path | None,
    junit_path: Path | None,
    html_path: Path | None,
    quiet: bool,
    **opts: Any,
) -> int:
    """Convert MODEL if needed, compute the reference, run it on devices, compare, report.

    MODEL is an .mlpackage, an .mlmodel, a TorchScript file, a torch.export .pt2, or a factory
    `path/to/file.py:function` / `package.module:function` returning (module, example_inputs).
    Without POMAR_BROKER_URL it runs embedded on this host's devices (default: the emulator);
    with it, on the farm's devices chosen by --device/--pool/--every-pool/--kind.
    """
    from orchestrator.preflight.render import html_section
    from orchestrator.reports import print_results, write_html, write_json, write_junit

    request = build_request(model, **opts)
    console = Console(stderr=True, quiet=quiet)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def stage(description: str) -> None:
            bar.update(task, description=description)

        def update(records: list[RunRecord]) -> None:
            done = sum(1 for r in records if r.status.finished)
            running = sum(1 for r in records if r.status is RunStatus.RUNNING)
            bar.update(
                task, total=len(records), completed=done, description=f"running ({running} active)"
            )

        run = _run_embedded if settings.embedded else _run_on_farm
        prepared, records, artifacts = run(settings, request, stage, update)

    results = [_result_of(r) for r in records]
    job, reference = prepared.job, prepared.reference
    if not quiet:
        print_results(
            results,
            reference_description=reference.description,
            console=Console(),
            budgets=job.config.budgets,
        )
        for warning in job.inputs.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
        for finding in prepared.preflight.findings:
            if finding.severity.value == "warning":
                where = f" at {finding.op}" if finding.op else ""
                console.print(f"[yellow]preflight:[/] {finding.id}{where}: {finding.message}")
    if json_path:
        write_json(results, json_path, job=job, reference=reference)
    if junit_path:
        write_junit(results, junit_path, budgets=job.config.budgets)
    if html_path:
        write_html(
            results,
            html_path,
            job=job,
            reference_description=reference.description,
            load_arrays=run_arrays_loader(artifacts, reference),
            sections=[html_section(prepared.preflight)],
        )
    return exit_code_for(results)


Stage = Callable[[str], None]
Update = Callable[[list[RunRecord]], None]


def _run_embedded(
    settings: Settings, request: CheckRequest, stage: Stage, update: Update
) -> tuple[PreparedJob, list[RunRecord], ArtifactStore]:
    """Everything in this process: the coordinator and one worker per local device."""
    from agent.local import local_devices, local_executors
    from orchestrator.embedded import EmbeddedFarm

    target = request.target
    if target.pools or target.every_pool_once or target.min_os_version or target.max_os_version:
        raise UsageError(
            "--pool, --every-pool, --min-os and --max-os choose farm devices",
            hint="set POMAR_BROKER_URL to run on a farm, or pick local devices with --device",
        )
    selected = local_devices(target.device_ids)
    artifacts = LocalArtifactStore(settings.artifacts_dir)
    store = open_store(settings.resolved_store_url)
    cache = settings.data_dir / "cache"
    prepared = prepare_job(request, artifacts, cache, stage)
    with EmbeddedFarm(store, artifacts, local_executors(selected, artifacts, cache)) as farm:
        runs = farm.coordinator.submit(prepared.job, [d.info for d in selected])
        stage(f"running {len(runs)} run(s)")
        records = wait_for_runs(
            store, prepared.job.job_id, timeout_s=request.config.timeout_s, on_update=update
        )
    return prepared, records, artifacts


def _run_on_farm(
    settings: Settings, request: CheckRequest, stage: Stage, update: Update
) -> tuple[PreparedJob, list[RunRecord], ArtifactStore]:
    """Submit to the farm named by POMAR_BROKER_URL and wait for every run."""
    from orchestrator.farm import connect

    target = request.target
    if not (target.device_ids or target.pools or target.every_pool_once or target.kinds):
        raise UsageError(
            "on a farm, `pomar check` needs devices to run on",
            hint="pass --device ID, --pool NAME, --kind ios or --every-pool (see `pomar pools`)",
        )
    farm = connect(settings)
    prepared = prepare_job(request, farm.artifacts, settings.data_dir / "cache", stage)
    runs = farm.coordinator.submit(prepared.job)
    stage(f"running {len(runs)} run(s) on the farm")
    records = wait_for_runs(
        farm.store,
        prepared.job.job_id,
        timeout_s=request.config.timeout_s * max(1, len(runs)),
        on_update=update,
        poll_s=0.5,
    )
    return prepared, records, farm.artifacts


def _result_of(record: RunRecord) -> RunResult:
    if record.result is None:  # cancelled before any result
        raise UsageError(f"run {record.run_id} has no result ({record.status.value})")
    return record.result
