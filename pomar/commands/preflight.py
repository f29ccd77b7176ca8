"""``pomar preflight MODEL``: will it convert, fit, and survive FP16? No device needed.

Exit codes: 0 nothing blocks a device run, 1 something will fail (it does not convert, it will
be killed, Core ML will not load it), 2 bad input.
"""

from __future__ import annotations

from pathlib import Path

import click
from pydantic import ValidationError
from rich.console import Console

from orchestrator.intake import ConversionOptions, FrontEnd
from orchestrator.preflight import PreflightRequest, render_terminal, run_preflight
from orchestrator.preflight.run import DEFAULT_MAX_TRACE_BYTES
from pomar_core.errors import UsageError
from pomar_core.settings import Settings
from pomar_core.wire import Precision


@click.command()
@click.argument("model")
@click.option(
    "--precision",
    type=click.Choice([p.value for p in Precision]),
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
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the report as JSON here ('-' for stdout).",
)
@click.option("--verbose", is_flag=True, help="Every device and info finding.")
@click.option("--quiet", is_flag=True, help="No terminal summary.")
@click.pass_obj
def preflight(
    settings: Settings,
    model: str,
    precision: str,
    targets: tuple[str, ...],
    front_end: str,
    device_types: tuple[str, ...],
    input_names: str | None,
    output_names: str | None,
    inputs_path: Path | None,
    seed: int,
    max_trace_mb: int,
    json_path: Path | None,
    verbose: bool,
    quiet: bool,
) -> int:
    """Check MODEL without a device: conversion, inventory, memory, FP16 ranges, pitfalls.

    MODEL is anything `pomar check` takes: an .mlpackage, an .mlmodel, a TorchScript file, a
    torch.export .pt2, or a factory `path/to/file.py:function` returning (module, inputs).
    """
    _ = settings  # preflight needs no data directory, broker or store
    fields: dict[str, object] = {
        "precision": Precision(precision),
        "front_end": FrontEnd(front_end),
        "input_names": _names(input_names),
        "output_names": _names(output_names),
    }
    if targets:
        fields["deployment_target"] = targets[0]
    try:
        conversion = ConversionOptions.model_validate(fields)
        for extra in targets[1:]:
            ConversionOptions.model_validate({"deployment_target": extra})
    except ValidationError:
        raise UsageError(
            f"bad --deployment-target in {', '.join(targets)}",
            hint="use targets such as iOS16, iOS17 or iOS18",
        ) from None
    request = PreflightRequest(
        model=model,
        conversion=conversion,
        extra_targets=targets[1:],
        devices=device_types or None,
        inputs_path=inputs_path,
        seed=seed,
        max_trace_bytes=max_trace_mb * 1024**2,
    )
    status = Console(stderr=True, quiet=quiet)
    with status.status("preflight") as spinner:
        outcome = run_preflight(request, lambda stage: spinner.update(stage))
    report = outcome.report
    to_stdout = json_path is not None and str(json_path) == "-"
    if not quiet and not to_stdout:
        render_terminal(report, Console(), verbose=verbose)
    if json_path is not None:
        text = report.model_dump_json(indent=2)
        if to_stdout:
            click.echo(text)
        else:
            json_path.write_text(text + "\n", encoding="utf-8")
    return report.exit_code


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    return names or None
