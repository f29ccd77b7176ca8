"""Option groups the commands share, and the parsers that turn them into library requests:
:func:`job_options` + :func:`build_request` (``check``, ``submit``) and :func:`report_options`
(``check``, ``results``, ``report``, ``preflight``)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from orchestrator.check_job import CheckRequest
from orchestrator.intake import ConversionOptions, FrontEnd
from orchestrator.preflight import PreflightRequest
from orchestrator.reports import FORMATS, STDOUT, require_formats
from pomar_core.errors import UsageError
from pomar_core.wire import Budgets, ComputeUnit, DeviceSelector, Precision, RunConfig

F = TypeVar("F", bound=Callable[..., Any])

PRECISIONS = click.Choice([p.value for p in Precision])
KINDS = click.Choice(["ios", "mac", "emulated"])

NO_SHIMS_OPTION = click.option(
    "--no-shims",
    is_flag=True,
    help="Never retry a failed conversion with Pomar's converter shims (new_ones, diff, &, |).",
)

_JOB_OPTIONS = [
    click.option("--compute-units", default="all", show_default=True, help="cpu,gpu,ane,all"),
    click.option(
        "--precision",
        type=PRECISIONS,
        default="fp16",
        show_default=True,
        help="Conversion precision of a source model, and the emulator's precision.",
    ),
    click.option("--deployment-target", default=None, help="Minimum deployment target: iOS16."),
    click.option("--input-names", default=None, help="Comma-separated names for the inputs."),
    click.option(
        "--input-shapes",
        default=None,
        help="Input shapes for a TorchScript file that does not record them: 1x3x224x224,1x10.",
    ),
    click.option("--output-names", default=None, help="Comma-separated names for the outputs."),
    NO_SHIMS_OPTION,
    click.option(
        "--inputs",
        "inputs_path",
        type=click.Path(path_type=Path),
        default=None,
        help="An .npz of named input tensors (never pickled).",
    ),
    click.option("--seed", type=int, default=0, show_default=True, help="For generated inputs."),
    click.option("--warmup", type=click.IntRange(min=0), default=3, show_default=True),
    click.option("--iterations", type=click.IntRange(min=1), default=10, show_default=True),
    click.option(
        "--timeout",
        "timeout_s",
        type=click.FloatRange(min=1),
        default=600.0,
        show_default=True,
        help="Seconds a run may take; also how long to wait for all runs.",
    ),
    click.option(
        "--tolerance",
        default="default",
        show_default=True,
        help="A preset (default, strict, fp16, classification, regression) or a TOML file.",
    ),
    click.option("--label", default=None, help="A name for this job in reports and history."),
    click.option(
        "--budget-p50-ms",
        type=click.FloatRange(min=0),
        default=None,
        help="Fail a run (budget_failed) whose median latency is above this.",
    ),
    click.option(
        "--budget-p90-ms",
        type=click.FloatRange(min=0),
        default=None,
        help="Fail a run whose 90th-percentile latency is above this.",
    ),
    click.option(
        "--budget-peak-mb",
        type=click.FloatRange(min=0),
        default=None,
        help="Fail a run whose peak memory is above this many MiB.",
    ),
    click.option(
        "--budget-ram-share",
        type=click.FloatRange(min=0, max=1, min_open=True),
        default=None,
        help="Fail a run whose peak memory is above this share of RAM.",
    ),
]

_TARGET_OPTIONS = [
    click.option("--device", "devices", multiple=True, help="A device id (repeatable)."),
    click.option("--pool", "pools", multiple=True, help="A pool: product type or label."),
    click.option("--every-pool", is_flag=True, help="One run per pool the farm has."),
    click.option("--kind", "kinds", type=KINDS, multiple=True, help="Only this backend."),
    click.option("--min-os", default=None, help="Lowest OS version, e.g. 17.0."),
    click.option("--max-os", default=None, help="Highest OS version, e.g. 18.9."),
]


IPA_OPTION = click.option(
    "--ipa",
    "ipa",
    type=click.Path(exists=True, path_type=Path),
    envvar="POMAR_HARNESS_APP",
    default=None,
    help="The signed harness app (.ipa or .app) to install on phones whose version differs "
    "[env POMAR_HARNESS_APP].",
)
BUNDLE_ID_OPTION = click.option(
    "--bundle-id",
    default=None,
    help="The harness app's bundle id when no --ipa says it (default org.pomar.harness).",
)
"""``--ipa`` and ``--bundle-id``: the harness app (``pomar agent``, ``pomar devices``)."""


def job_options(fn: F) -> F:
    """Decorate a command with the target and job options (in ``--help`` order)."""
    for option in reversed(_TARGET_OPTIONS + _JOB_OPTIONS):
        fn = option(fn)
    return fn


ReportTargets = Mapping[str, Path]
"""Report format name → path (``-`` prints it), as :func:`report_options` passes them."""


def report_options(fn: F) -> F:
    """Add ``--NAME PATH`` for every format in the report registry and pass the ones given to
    the command as ``reports``, a :data:`ReportTargets`. A format whose optional extra is
    missing, or two reports to stdout, are bad usage (exit 2) before the command runs."""

    @functools.wraps(fn)
    def command(*args: Any, **kwargs: Any) -> Any:
        reports = {n: p for n in FORMATS if (p := kwargs.pop(f"{n}_report")) is not None}
        if list(reports.values()).count(STDOUT) > 1:
            raise UsageError(
                "only one report can go to stdout ('-')", hint="write the others to files"
            )
        require_formats(tuple(reports))
        return fn(*args, reports=reports, **kwargs)

    for name in reversed(list(FORMATS)):
        command = click.option(
            f"--{name}",
            f"{name}_report",
            type=click.Path(path_type=Path),
            default=None,
            metavar="PATH",
            help=f"{FORMATS[name].help} '-' prints it.",
        )(command)
    return command  # type: ignore[return-value]


def build_request(model: str, **opts: Any) -> CheckRequest:
    """A validated request from the options of :func:`job_options`; ``UsageError`` on bad
    input. Unknown keys are ignored, so commands may add their own options."""
    from orchestrator.parity import load_policy

    tolerance = str(opts["tolerance"])
    load_policy(tolerance)  # a bad policy is bad input: fail before any work
    precision = Precision(opts["precision"])
    try:
        target = DeviceSelector(
            device_ids=tuple(opts["devices"]),
            pools=tuple(opts["pools"]),
            kinds=tuple(opts["kinds"]),
            min_os_version=opts["min_os"],
            max_os_version=opts["max_os"],
            every_pool_once=bool(opts["every_pool"]),
        )
    except ValidationError as exc:
        raise UsageError(f"bad device selector: {exc.errors()[0]['msg']}") from None
    config = RunConfig(
        compute_units=parse_compute_units(str(opts["compute_units"])),
        precision=precision,
        warmup=int(opts["warmup"]),
        iterations=int(opts["iterations"]),
        timeout_s=float(opts["timeout_s"]),
        tolerance=_tolerance_text(tolerance),
        budgets=Budgets(
            p50_ms=opts["budget_p50_ms"],
            p90_ms=opts["budget_p90_ms"],
            peak_memory_bytes=None
            if opts["budget_peak_mb"] is None
            else int(opts["budget_peak_mb"] * 2**20),
            peak_memory_share_of_ram=opts["budget_ram_share"],
        ),
    )
    return CheckRequest(
        model=model,
        conversion=_conversion_options(
            precision,
            opts["deployment_target"],
            opts["input_names"],
            opts["output_names"],
            opts["input_shapes"],
            shims=not opts.get("no_shims", False),
        ),
        config=config,
        inputs_path=opts["inputs_path"],
        seed=int(opts["seed"]),
        target=target,
        label=opts["label"],
    )


def build_preflight_request(
    model: str,
    *,
    precision: str,
    targets: tuple[str, ...],
    front_end: str,
    device_types: tuple[str, ...],
    input_names: str | None,
    output_names: str | None,
    inputs_path: Path | None,
    seed: int,
    max_trace_mb: int,
    no_shims: bool = False,
) -> PreflightRequest:
    """The request of ``pomar preflight``'s options; ``UsageError`` on a bad target. The first
    ``--deployment-target`` is the run's, the others are tried as well."""
    fields: dict[str, object] = {
        "precision": Precision(precision),
        "front_end": FrontEnd(front_end),
        "input_names": _names(input_names),
        "output_names": _names(output_names),
        "shims": not no_shims,
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
    return PreflightRequest(
        model=model,
        conversion=conversion,
        extra_targets=targets[1:],
        devices=device_types or None,
        inputs_path=inputs_path,
        seed=seed,
        max_trace_bytes=max_trace_mb * 1024**2,
    )


def _conversion_options(
    precision: Precision,
    deployment_target: str | None,
    input_names: str | None,
    output_names: str | None,
    input_shapes: str | None = None,
    *,
    shims: bool = True,
) -> ConversionOptions:
    fields: dict[str, object] = {
        "shims": shims,
        "precision": precision,
        "input_names": _names(input_names),
        "output_names": _names(output_names),
        "input_shapes": _shapes(input_shapes),
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


def _shapes(text: str | None) -> tuple[tuple[int, ...], ...] | None:
    """``1x3x224x224,1x10`` → ((1, 3, 224, 224), (1, 10))."""
    if text is None:
        return None
    shapes: list[tuple[int, ...]] = []
    for part in text.split(","):
        dims = part.strip().lower().split("x")
        if not all(d.strip().isdigit() and int(d) > 0 for d in dims):
            raise UsageError(
                f"bad --input-shapes '{text}'",
                hint="give one shape per input as positive sizes joined by x: 1x3x224x224,1x10",
            )
        shapes.append(tuple(int(d) for d in dims))
    return tuple(shapes)


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


def parse_compute_units(text: str) -> tuple[ComputeUnit, ...]:
    units: list[ComputeUnit] = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        try:
            unit = ComputeUnit(part)
        except ValueError:
            choices = ",".join(u.value for u in ComputeUnit)
            raise UsageError(
                f"unknown compute unit '{part}'", hint=f"use a comma-separated list of {choices}"
            ) from None
        if unit not in units:
            units.append(unit)
    if not units:
        raise UsageError("no compute units given", hint="e.g. --compute-units cpu,ane")
    return tuple(units)
