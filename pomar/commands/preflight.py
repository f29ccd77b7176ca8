"""``pomar preflight MODEL``: will it convert, fit, and survive FP16? No device needed.

Exit codes: 0 nothing blocks a device run, 1 something will fail (it does not convert, it will
be killed, Core ML will not load it), 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from orchestrator.intake import FrontEnd
from orchestrator.preflight import render_terminal, run_preflight
from orchestrator.preflight.run import DEFAULT_MAX_TRACE_BYTES
from orchestrator.reports import STDOUT, ResultsDocument, write_reports
from pomar.options import (
    NO_SHIMS_OPTION,
    PRECISIONS,
    ReportTargets,
    build_preflight_request,
    report_options,
)
from pomar_core.settings import Settings


@click.command()
@click.argument("model")
@click.option(
    "--precision",
    type=PRECISIONS,
    default="fp16",
    show_default=True,
    help="The precision the model will run at (and a source model is converted with).",
)
@click.option(
    "--deployment-target",
    "targets",
    multiple=True,
    help="Minimum deployment target, e.g. iOS16; repeat to try several (the first is the run's).",
)
@click.option(
    "--front-end",
    type=click.Choice([f.value for f in FrontEnd]),
    default="auto",
    show_default=True,
    help="The front end to prefer; both are always tried.",
)
@click.option(
    "--device-type",
    "device_types",
    multiple=True,
    help="iPhone product type to judge memory against, e.g. iPhone15,2 (default: all known).",
)
@click.option("--input-names", default=None, help="Comma-separated names for the model inputs.")
@click.option("--output-names", default=None, help="Comma-separated names for the outputs.")
@NO_SHIMS_OPTION
@click.option(
    "--inputs",
    "inputs_path",
    type=click.Path(path_type=Path),
    default=None,
    help="An .npz of named input tensors for the FP16 range check (default: generated).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for generated inputs.")
@click.option(
    "--max-trace-memory",
    "max_trace_mb",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_TRACE_BYTES // 1024**2,
    show_default=True,
    help="MB one traced prediction may use on this host before the range check is skipped.",
)
@report_options
@click.option("--verbose", is_flag=True, help="Every device and info finding.")
@click.option("--quiet", is_flag=True, help="No terminal summary.")
@click.pass_obj
def preflight(
    settings: Settings,
    /,
    model: str,
    verbose: bool,
    quiet: bool,
    reports: ReportTargets,
    **opts: Any,
) -> int:
    """Check MODEL without a device: conversion, inventory, memory, FP16 ranges, pitfalls.

    MODEL is anything `pomar check` takes: an .mlpackage, an .mlmodel, a TorchScript file, a
    torch.export .pt2, or a factory `path/to/file.py:function` returning (module, inputs).
    """
    _ = settings  # preflight needs no data directory, broker or store
    request = build_preflight_request(model, **opts)
    status = Console(stderr=True, quiet=quiet)
    with status.status("preflight") as spinner:
        outcome = run_preflight(request, lambda stage: spinner.update(stage))
    if not quiet and STDOUT not in reports.values():
        render_terminal(outcome.report, Console(), verbose=verbose)
    write_reports(ResultsDocument.of(preflight=outcome.report), reports)
    return outcome.report.exit_code
