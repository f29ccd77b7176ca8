"""``pomar submit MODEL``: prepare a job (intake, inputs, reference) and hand it to the farm."""

from __future__ import annotations

import json
from pathlib import Path

import click
from pydantic import ValidationError

from orchestrator.check import CheckRequest, prepare_job, wait_for_runs
from orchestrator.cli import exit_code_for, parse_compute_units
from orchestrator.errors import UsageError
from orchestrator.intake import ConversionOptions
from orchestrator.settings import Settings
from orchestrator.wire import DeviceSelector, Precision, RunConfig

PRECISIONS = click.Choice([p.value for p in Precision])
KINDS = click.Choice(["ios", "mac", "emulated"])


@click.command()
@click.argument("model")
@click.option("--device", "devices", multiple=True, help="A device id (repeatable).")
@click.option("--pool", "pools", multiple=True, help="A pool: product type or label (repeatable).")
@click.option("--every-pool", is_flag=True, help="One run per pool the farm has.")
@click.option("--kind", "kinds", type=KINDS, multiple=True, help="Only devices of this backend.")
@click.option("--min-os", default=None, help="Lowest OS version, e.g. 17.0.")
@click.option("--max-os", default=None, help="Highest OS version, e.g. 18.9.")
@click.option("--compute-units", default="all", show_default=True, help="cpu,gpu,ane,all")
@click.option("--precision", type=PRECISIONS, default="fp16", show_default=True)
@click.option("--deployment-target", default=None, help="Minimum deployment target, e.g. iOS16.")
@click.option(
    "--inputs",
    "inputs_path",
    type=click.Path(path_type=Path),
    default=None,
    help="An .npz of named input tensors (never pickled).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True)
@click.option("--iterations", type=click.IntRange(min=1), default=10, show_default=True)
@click.option(
    "--timeout",
    "timeout_s",
    type=click.FloatRange(min=1),
    default=600.0,
    show_default=True,
    help="Seconds one run may take on a device; with --wait, also how long to wait.",
)
@click.option("--tolerance", default="default", show_default=True, help="Preset or TOML file.")
@click.option("--label", default=None, help="A name for this job in reports and history.")
@click.option("--priority", type=click.IntRange(0, 9), default=5, show_default=True)
@click.option("--wait", is_flag=True, help="Follow progress until every run finished.")
@click.option("--json", "as_json", is_flag=True, help="Print the job id (and runs) as JSON.")
@click.pass_obj
def submit(
    settings: Settings,
    model: str,
    devices: tuple[str, ...],
    pools: tuple[str, ...],
    every_pool: bool,
    kinds: tuple[str, ...],
    min_os: str | None,
    max_os: str | None,
    compute_units: str,
    precision: str,
    deployment_target: str | None,
    inputs_path: Path | None,
    seed: int,
    warmup: int,
    iterations: int,
    timeout_s: float,
    tolerance: str,
    label: str | None,
    priority: int,
    wait: bool,
    as_json: bool,
) -> int:
    """Submit MODEL to the farm and print the job id (POMAR_BROKER_URL must be set)."""
    from orchestrator.farm import connect
    from orchestrator.parity import load_policy

    load_policy(tolerance)
    farm = connect(settings)
    try:
        target = DeviceSelector(
            device_ids=devices,
            pools=pools,
            kinds=kinds,
            min_os_version=min_os,
            max_os_version=max_os,
            every_pool_once=every_pool,
        )
    except ValidationError as exc:
        raise UsageError(f"bad device selector: {exc.errors()[0]['msg']}") from None
    path = Path(tolerance)
    config = RunConfig(
        compute_units=parse_compute_units(compute_units),
        precision=Precision(precision),
        warmup=warmup,
        iterations=iterations,
        timeout_s=timeout_s,
        tolerance=path.read_text("utf-8")
        if path.suffix == ".toml" and path.is_file()
        else tolerance,
    )
    conversion: dict[str, object] = {"precision": Precision(precision)}
    if deployment_target:
        conversion["deployment_target"] = deployment_target
    try:
        options = ConversionOptions.model_validate(conversion)
    except ValidationError:
        raise UsageError(
            f"bad --deployment-target '{deployment_target}'", hint="e.g. iOS16, iOS17, iOS18"
        ) from None
    request = CheckRequest(
        model=model,
        conversion=options,
        config=config,
        inputs_path=inputs_path,
        seed=seed,
        target=target,
        label=label,
    )
    prepared = prepare_job(request, farm.artifacts, settings.data_dir / "cache")
    job = prepared.job.model_copy(update={"priority": priority})
    runs = farm.coordinator.submit(job)
    if as_json:
        click.echo(json.dumps({"job_id": job.job_id, "runs": [r.run_id for r in runs]}))
    else:
        click.echo(job.job_id)
    if not wait:
        return 0
    records = wait_for_runs(farm.store, job.job_id, timeout_s=timeout_s * len(runs), poll_s=0.5)
    results = [r.result for r in records if r.result is not None]
    from orchestrator.commands.status import print_runs

    print_runs(records)
    return exit_code_for(results)
