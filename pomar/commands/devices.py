"""``pomar devices`` and ``pomar pools``: what the farm has, who is busy, who is lost; and
``pomar devices --check``: what each iPhone attached to this host is missing, with the fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from orchestrator.fleet import device_rows, pool_counts
from pomar.options import BUNDLE_ID_OPTION, IPA_OPTION
from pomar_core.errors import UsageError
from pomar_core.settings import Settings


def _rows(settings: Settings) -> list[dict[str, object]]:
    if settings.remote:
        from pomar.remote import remote_device_rows

        return remote_device_rows(settings)
    from orchestrator.farm import connect

    farm = connect(settings)
    return device_rows(farm.store.list_devices(), farm.liveness.live())


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--check",
    is_flag=True,
    help="Check the iPhones attached to THIS host instead (no farm needed): trust, lock, "
    "Developer Mode, disk image, tunnel, harness app, storage, each with its fix. "
    "Exit 0 when every phone is ready, 3 otherwise (also when none is attached).",
)
@click.option(
    "--install", is_flag=True, help="With --check: install or update the harness app (--ipa)."
)
@IPA_OPTION
@BUNDLE_ID_OPTION
@click.pass_obj
def devices(
    settings: Settings,
    as_json: bool,
    check: bool,
    install: bool,
    ipa: Path | None,
    bundle_id: str | None,
) -> int:
    """Every device the farm has seen: kind, product, OS, state, current run, last heartbeat.

    With --check, what each iPhone attached here needs before it can run."""
    if install and not check:
        raise UsageError("--install goes with --check", hint="pomar devices --check --install")
    if check:
        return _check(as_json, install, ipa, bundle_id)
    rows = _rows(settings)
    if as_json:
        click.echo(json.dumps({"devices": rows}))
        return 0
    table = Table(title="devices")
    for name in ("id", "kind", "product", "OS", "state", "run", "last heartbeat"):
        table.add_column(name)
    now = datetime.now(UTC)
    for r in rows:
        ago = (now - datetime.fromisoformat(str(r["last_heartbeat"]))).total_seconds()
        table.add_row(
            str(r["udid"]),
            str(r["kind"]),
            str(r["product"]),
            str(r["os"] or ""),
            str(r["state"]),
            str(r["current_run"] or ""),
            f"{ago:.0f}s ago",
        )
    Console().print(table)
    return 0


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def pools(settings: Settings, as_json: bool) -> int:
    """Pools (product types and labels) with how many of their devices are live (idle or
    busy), busy, and quarantined (present but taking no runs)."""
    summary = pool_counts(_rows(settings))
    if as_json:
        click.echo(json.dumps({"pools": summary}))
        return 0
    table = Table(title="pools")
    for name in ("pool", "devices", "live", "busy", "quarantined"):
        table.add_column(name)
    for pool, c in sorted(summary.items()):
        table.add_row(
            pool, str(c["devices"]), str(c["live"]), str(c["busy"]), str(c["quarantined"])
        )
    Console().print(table)
    return 0


def _check(as_json: bool, install: bool, ipa: Path | None, bundle_id: str | None) -> int:
    from agent.devices.ios.backend import check_attached
    from agent.devices.ios.bundle import harness_config
    from pomar.exit_codes import EXIT_INFRA, EXIT_OK

    if install and ipa is None:
        raise UsageError(
            "--install needs the signed harness app",
            hint="pass --ipa PATH or set POMAR_HARNESS_APP (build it with "
            "ios_harness/scripts/build_ipa.sh)",
        )
    checks = check_attached(harness_config(ipa, bundle_id), install=install)
    ready = bool(checks) and all(c.ok for c in checks)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ready": ready,
                    "devices": [
                        {
                            "udid": c.udid,
                            "marketing_name": c.marketing_name,
                            "product_type": c.product_type,
                            "ios_version": c.ios_version,
                            "app_version": c.app_version,
                            "ready": c.ok,
                            "problems": [
                                {"what": p.what, "detail": p.detail, "fix": p.fix}
                                for p in c.problems
                            ],
                        }
                        for c in checks
                    ],
                }
            )
        )
    elif not checks:
        click.echo("no iPhone attached to this host (connect one by USB and tap Trust)")
    else:
        for c in checks:
            click.echo("\n".join(c.lines()))
    return EXIT_OK if ready else EXIT_INFRA
