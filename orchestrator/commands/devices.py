"""``pomar devices`` and ``pomar pools``: what the farm has, who is busy, who is lost."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.table import Table

from orchestrator.leases import Heartbeat
from orchestrator.routing import device_pools
from orchestrator.settings import Settings
from orchestrator.store import DeviceRecord, DeviceState


def device_rows(known: list[DeviceRecord], live: dict[str, Heartbeat]) -> list[dict[str, object]]:
    """Every device ever seen, its state from its heartbeat (``lost`` when it has none)."""
    by_id = {d.info.udid: d for d in known}
    rows: list[dict[str, object]] = []
    for udid in sorted(set(by_id) | set(live)):
        beat = live.get(udid)
        info = beat.info if beat else by_id[udid].info
        rows.append(
            {
                "udid": udid,
                "kind": info.kind.value,
                "product": info.product_type,
                "os": info.os_version,
                "pools": list(device_pools(info)),
                "agent": beat.agent if beat else info.agent_host,
                "state": (beat.state if beat else DeviceState.LOST).value,
                "current_run": beat.run_id if beat else None,
                "last_heartbeat": (beat.at if beat else by_id[udid].last_seen).isoformat(),
            }
        )
    return rows


def _rows(settings: Settings) -> list[dict[str, object]]:
    from orchestrator.farm import connect

    farm = connect(settings)
    return device_rows(farm.store.list_devices(), farm.liveness.live())


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def devices(settings: Settings, as_json: bool) -> int:
    """Every device the farm has seen: kind, product, OS, state, current run, last heartbeat."""
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
    """Pools (product types and labels) with how many of their devices are live and busy."""
    summary: dict[str, dict[str, int]] = {}
    for r in _rows(settings):
        for pool in r["pools"]:  # type: ignore[attr-defined]
            counts = summary.setdefault(str(pool), {"devices": 0, "live": 0, "busy": 0})
            counts["devices"] += 1
            counts["live"] += r["state"] != DeviceState.LOST.value
            counts["busy"] += r["state"] == DeviceState.BUSY.value
    if as_json:
        click.echo(json.dumps({"pools": summary}))
        return 0
    table = Table(title="pools")
    for name in ("pool", "devices", "live", "busy"):
        table.add_column(name)
    for pool, c in sorted(summary.items()):
        table.add_row(pool, str(c["devices"]), str(c["live"]), str(c["busy"]))
    Console().print(table)
    return 0
