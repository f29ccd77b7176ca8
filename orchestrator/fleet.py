"""The farm's devices as plain rows, and pools with their health: what ``pomar devices`` and
``pomar pools`` print and what the HTTP API serves, computed once here."""

from __future__ import annotations

from orchestrator.store import DeviceRecord
from pomar_core.wire import DeviceState, Heartbeat, device_pools

PoolCounts = dict[str, int]
"""``devices``, ``live`` (idle or busy), ``busy`` and ``quarantined`` devices of a pool."""


def device_rows(known: list[DeviceRecord], live: dict[str, Heartbeat]) -> list[dict[str, object]]:
    """Every device ever seen, its state from its heartbeat (``lost`` when it has none;
    ``quarantined``, with the reason in ``detail``, when its agent holds it back)."""
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
                "detail": beat.detail if beat else None,
                "last_heartbeat": (beat.at if beat else by_id[udid].last_seen).isoformat(),
            }
        )
    return rows


def pool_counts(rows: list[dict[str, object]]) -> dict[str, PoolCounts]:
    """Pools (product types and labels) of :func:`device_rows`, with their health."""
    summary: dict[str, PoolCounts] = {}
    for r in rows:
        for pool in r["pools"]:  # type: ignore[attr-defined]
            counts = summary.setdefault(
                str(pool), {"devices": 0, "live": 0, "busy": 0, "quarantined": 0}
            )
            counts["devices"] += 1
            # Quarantined devices heartbeat but take no runs: present, not live.
            counts["live"] += r["state"] in (DeviceState.IDLE.value, DeviceState.BUSY.value)
            counts["busy"] += r["state"] == DeviceState.BUSY.value
            counts["quarantined"] += r["state"] == DeviceState.QUARANTINED.value
    return summary
