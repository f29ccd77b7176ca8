"""``pomar check MODEL``: the main job, embedded on this host's devices or on a farm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from orchestrator.reports import STDOUT, print_document, write_reports
from pomar.bundle_check import rerun_bundle
from pomar.check_run import run_check
from pomar.exit_codes import exit_code_for_document
from pomar.options import ReportTargets, build_request, job_options, report_options
from pomar.progress import run_progress
from pomar_core.errors import UsageError
from pomar_core.settings import Settings


@click.command()
@click.argument("model", required=False)
@job_options
@report_options
@click.option("--quiet", is_flag=True, help="No progress display and no table.")
@click.option(
    "--from-bundle",
    "bundle",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Rerun the job of a `pomar export` bundle (its model, inputs and reference) instead.",
)
@click.pass_obj
def check(
    settings: Settings,
    /,
    model: str | None,
    quiet: bool,
    reports: ReportTargets,
    bundle: Path | None,
    **opts: Any,
) -> int:
    """Convert MODEL if needed, compute the reference, run it on devices, compare, report.

    MODEL is an .mlpackage, an .mlmodel, a TorchScript file, a torch.export .pt2, or a factory
    `path/to/file.py:function` / `package.module:function` returning (module, example_inputs).
    Without POMAR_BROKER_URL it runs embedded on this host's devices (default: the emulator);
    with it, on the farm's devices chosen by --device/--pool/--every-pool/--kind.
    """
    if (model is None) == (bundle is None):
        raise UsageError(
            "give a MODEL or --from-bundle PATH (one of them)", hint="see `pomar check --help`"
        )
    request = build_request(model or str(bundle), **opts)
    quiet = quiet or STDOUT in reports.values()  # stdout carries the report alone
    console = Console(stderr=True, quiet=quiet)
    with run_progress(console, quiet=quiet) as (stage, update):
        if bundle is not None:
            document, artifacts = rerun_bundle(settings, bundle, request.target, stage, update)
            warnings: list[tuple[str, str]] = []
        elif settings.remote:
            from pomar.remote import remote_check

            document, artifacts, warnings = remote_check(settings, request, stage, update)
        else:
            outcome = run_check(settings, request, stage, update)
            document, artifacts, warnings = outcome.document, outcome.artifacts, outcome.warnings
    if not quiet:
        print_document(document, Console())
        for source, text in warnings:
            console.print(f"[yellow]{source}:[/] {text}")
    write_reports(document, reports, artifacts)
    return exit_code_for_document(document)
