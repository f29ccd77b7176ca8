"""``pomar check MODEL``: the main job, embedded on this host's devices."""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from orchestrator.artifact_stores.local import LocalArtifactStore
from orchestrator.check import CheckRequest, prepare_job, run_arrays_loader, wait_for_runs
from orchestrator.cli import exit_code_for, parse_compute_units
from orchestrator.errors import UsageError
from orchestrator.intake import ConversionOptions
from orchestrator.settings import Settings
from orchestrator.store import RunRecord
from orchestrator.stores import open_store
from orchestrator.wire import Precision, RunConfig, RunResult

PRECISIONS = click.Choice([p.value for p in Precision])


@click.command()
@click.argument("model")
@click.option("--device", "devices", multiple=True, help="Device id (default: emulated-0).")
@click.option("--compute-units", default="all", show_default=True, help="cpu,gpu,ane,all")
@click.option(
    "--precision",
    type=PRECISIONS,
    default="fp16",
    show_default=True,
    help="Conversion precision of a source model, and the emulator's precision.",
)
@click.option("--deployment-target", default=None, help="Minimum deployment target, e.g. iOS16.")
@click.option("--input-names", default=None, help="Comma-separated names for the model inputs.")
@click.option("--output-names", default=None, help="Comma-separated names for the outputs.")
@click.option(
    "--inputs",
    "inputs_path",
    type=click.Path(path_type=Path),
    default=None,
    help="An .npz of named input tensors (never pickled).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for generated inputs.")
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True)
@click.option("--iterations", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds to wait for all runs.",
)
@click.option(
    "--tolerance",
    default="default",
    show_default=True,
    help="A preset (default, strict, fp16, classification, regression) or a TOML file.",
)
@click.option("--json", "json_path", type=click.Path(path_type=Path), default=None)
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), default=None)
@click.option("--html", "html_path", type=click.Path(path_type=Path), default=None)
@click.option("--label", default=None, help="A name for this job in reports and history.")
@click.option("--quiet", is_flag=True, help="No progress display and no table.")
@click.pass_obj
def check(
    settings: Settings,
    model: str,
    devices: tuple[str, ...],
    compute_units: str,
    precision: str,
    deployment_target: str | None,
    input_names: str | None,
    output_names: str | None,
    inputs_path: Path | None,
    seed: int,
    warmup: int,
    iterations: int,
    timeout_s: float,
    tolerance: str,
    json_path: Path | None,
    junit_path: Path | None,
    html_path: Path | None,
    label: str | None,
    quiet: bool,
) -> int:
    """Convert MODEL if needed, compute the reference, run it on devices, compare, report.

    MODEL is an .mlpackage, an .mlmodel, a TorchScript file, a torch.export .pt2, or a factory
    `path/to/file.py:function` / `package.module:function` returning (module, example_inputs).
    """
    from agent.local import local_devices, local_executors
    from orchestrator.embedded import EmbeddedFarm
    from orchestrator.parity import load_policy
    from orchestrator.preflight.render import html_section
    from orchestrator.reports import print_results, write_html, write_json, write_junit

    if not settings.embedded:
        raise UsageError(
            "`pomar check` runs embedded; POMAR_BROKER_URL is set",
            hint="use `pomar submit` to run on the farm, or unset POMAR_BROKER_URL",
        )
    load_policy(tolerance)  # a bad policy is bad input: fail before any work
    config = RunConfig(
        compute_units=parse_compute_units(compute_units),
        precision=Precision(precision),
        warmup=warmup,
        iterations=iterations,
        timeout_s=timeout_s,
        tolerance=_tolerance_text(tolerance),
    )
    request = CheckRequest(
        model=model,
        conversion=_conversion_options(precision, deployment_target, input_names, output_names),
        config=config,
        inputs_path=inputs_path,
        seed=seed,
        label=label,
    )
    selected = local_devices(devices)
    console = Console(stderr=True, quiet=quiet)
    artifacts = LocalArtifactStore(settings.artifacts_dir)
    store = open_store(settings.resolved_store_url)

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
        prepared = prepare_job(
            request,
            artifacts,
            settings.data_dir / "cache",
            lambda stage: bar.update(task, description=stage),
        )
        executors = local_executors(selected, artifacts, settings.data_dir / "cache")
        with EmbeddedFarm(store, artifacts, executors) as farm:
            runs = farm.coordinator.submit(prepared.job, [d.info for d in selected])
            bar.update(task, description="running", total=len(runs), completed=0)

            def update(records: list[RunRecord]) -> None:
                done = sum(1 for r in records if r.status.finished)
                running = sum(1 for r in records if r.status.value == "running")
                bar.update(task, completed=done, description=f"running ({running} active)")

            records = wait_for_runs(
                store, prepared.job.job_id, timeout_s=timeout_s, on_update=update
            )

    results = [_result_of(r) for r in records]
    job, reference = prepared.job, prepared.reference
    if not quiet:
        print_results(results, reference_description=reference.description, console=Console())
        for warning in job.inputs.warnings:
            console.print(f"[yellow]warning:[/] {warning}")
        for finding in prepared.preflight.findings:
            if finding.severity.value == "warning":
                where = f" at {finding.op}" if finding.op else ""
                console.print(f"[yellow]preflight:[/] {finding.id}{where}: {finding.message}")
    if json_path:
        write_json(results, json_path, job=job, reference=reference)
    if junit_path:
        write_junit(results, junit_path, budgets=config.budgets)
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


def _result_of(record: RunRecord) -> RunResult:
    if record.result is None:  # cancelled before any result
        raise UsageError(f"run {record.run_id} has no result ({record.status.value})")
    return record.result


def _conversion_options(
    precision: str,
    deployment_target: str | None,
    input_names: str | None,
    output_names: str | None,
) -> ConversionOptions:
    fields: dict[str, object] = {
        "precision": Precision(precision),
        "input_names": _names(input_names),
        "output_names": _names(output_names),
    }
    if deployment_target is not None:
        fields["deployment_target"] = deployment_target
    try:
        return ConversionOptions.model_validate(fields)
    except ValidationError:
        raise UsageError(
            f"bad --deployment-target '{deployment_target}'",
            hint="use a target such as iOS16, iOS17 or iOS18",
        ) from None


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    return names or None


def _tolerance_text(tolerance: str) -> str:
    """A preset name stays a name; a file travels by content, so agents need no shared disk."""
    path = Path(tolerance)
    if path.suffix == ".toml" and path.is_file():
        return path.read_text(encoding="utf-8")
    return tolerance
