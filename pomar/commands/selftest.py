"""``pomar selftest``: prove a device's measurements with a fixed battery before trusting them."""

from __future__ import annotations

from pathlib import Path

import click

from pomar.exit_codes import EXIT_FAILED, EXIT_INFRA, EXIT_OK
from pomar.options import parse_compute_units


@click.command()
@click.option(
    "--device",
    "device_id",
    default="emulated",
    show_default=True,
    help="emulated, mac, fake-ios, or an attached iPhone's UDID.",
)
@click.option("--compute-units", default="all", show_default=True, help="cpu,gpu,ane,all")
@click.option(
    "--bundle",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write environment, versions, raw results and device logs to this .tar.gz.",
)
def selftest(device_id: str, compute_units: str, bundle: Path | None) -> int:
    """Run the self-test battery: output layout, memory sampling, jetsam, latency, compute plan."""
    from agent.selftest import run_selftest
    from agent.selftest.bundle import crash_report_paths, new_crash_reports, write_bundle
    from agent.selftest.devices import selftest_device

    units = parse_compute_units(compute_units)
    device = selftest_device(device_id)
    info = device.info
    click.echo(f"selftest on {info.marketing_name} ({info.udid}, {info.os_version or 'no OS'})")
    known = crash_report_paths(device)
    report = run_selftest(device, units, on_check=lambda c: click.echo(c.line()))
    if report.infra_error:
        click.echo(f"pomar: error: selftest stopped: {report.infra_error}", err=True)
    if bundle is not None:
        write_bundle(report, bundle, new_crash_reports(device, known))
        click.echo(f"bundle written to {bundle}: attach it to the bug report")
    failed = len(report.failed)
    click.echo(f"{len(report.checks) - failed} of {len(report.checks)} checks passed or skipped")
    if report.infra_error:
        return EXIT_INFRA
    return EXIT_FAILED if failed else EXIT_OK
