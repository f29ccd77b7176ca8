"""``pomar advise JOB|LABEL``: per device product × iOS major version, the fastest compute-unit
setting that passed, as JSON and as Swift an app compiles in."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from pomar.exit_codes import EXIT_FAILED, EXIT_OK
from pomar_core.settings import Settings


@click.command()
@click.argument("job_or_label")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the advice as JSON here ('-' for stdout).",
)
@click.option(
    "--swift",
    "swift_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a Swift file choosing MLModelConfiguration.computeUnits here.",
)
@click.option(
    "--type-name",
    default="PomarComputeUnits",
    show_default=True,
    help="Name of the Swift enum (one per model if an app ships several).",
)
@click.pass_obj
def advise(
    settings: Settings,
    job_or_label: str,
    json_path: Path | None,
    swift_path: Path | None,
    type_name: str,
) -> int:
    """Advise a compute-unit setting per device from JOB_OR_LABEL's results (a job id, or a
    label such as a nightly schedule's, for the newest model under it).

    Exit 0 when every device tested has a passing setting, 1 when some device has none."""
    from orchestrator.advice import advice_for, render_swift
    from orchestrator.stores import open_store
    from pomar_core.errors import UsageError

    if not type_name.isidentifier():
        raise UsageError(
            f"--type-name {type_name!r} is not a Swift identifier",
            hint="use letters, digits and _, e.g. MyModelComputeUnits",
        )
    advice = advice_for(open_store(settings.resolved_store_url), job_or_label)
    if json_path is not None:
        _write(json_path, advice.model_dump_json(indent=2) + "\n")
    if swift_path is not None:
        _write(swift_path, render_swift(advice, type_name))
    if json_path != Path("-"):
        for device in advice.devices:
            major = "?" if device.ios_major is None else device.ios_major
            unit = device.recommended.value if device.recommended else "none"
            click.echo(f"{device.product_type:<12} iOS {major:<3} {unit:<5} {device.note}")
    passing = all(d.recommended is not None for d in advice.devices)
    return EXIT_OK if passing else EXIT_FAILED


def _write(path: Path, text: str) -> None:
    """Write ``text`` whole or not at all (a temporary file renamed into place)."""
    if path == Path("-"):
        click.echo(text, nl=False)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
