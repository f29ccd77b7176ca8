"""``pomar farm``: devices by pool and state, queue depths, running runs, the last sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from pomar_core.settings import Settings

if TYPE_CHECKING:
    from orchestrator.farm_view import FarmView


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of tables.")
@click.pass_obj
def farm(settings: Settings, as_json: bool) -> int:
    """The farm at a glance: pools, queues, what runs now, the last sweep's summary."""
    import redis

    from orchestrator.farm import broker_url_of, connect
    from orchestrator.farm_view import farm_view
    from orchestrator.sweep_watch import RedisSweepState

    connected = connect(settings)
    url = broker_url_of(settings)
    view = farm_view(
        connected.store,
        connected.liveness.live(),
        redis.Redis.from_url(url),
        RedisSweepState(url),
    )
    if as_json:
        click.echo(view.model_dump_json(indent=2))
    else:
        render(view, Console())
    return 0


def render(view: FarmView, console: Console) -> None:
    from orchestrator.notify import headline

    pools = Table(title="pools")
    states = ("idle", "busy", "quarantined", "lost")
    for column in ("pool", *states):
        pools.add_column(column)
    for pool, found in sorted(view.pools.items()):
        pools.add_row(pool, *(str(len(found.get(s, []))) for s in states))
    console.print(pools)
    queues = Table(title="queued runs")
    for column in ("queue", "priority", "waiting"):
        queues.add_column(column)
    for q in view.queues:
        queues.add_row(q.queue, str(q.priority), str(q.depth))
    console.print(queues if view.queues else "no runs waiting in the broker")
    running = Table(title="running")
    for column in ("run", "device", "elapsed", "sweep"):
        running.add_column(column)
    for r in view.running:
        elapsed = f"{r.elapsed_s:.0f}s of ≤{r.timeout_s:.0f}s" if r.elapsed_s is not None else "-"
        running.add_row(r.run_id, r.device or "-", elapsed, r.sweep or "on demand")
    console.print(running if view.running else "nothing running")
    for s in view.sweeps:
        console.print(f"sweep {s.sweep_id}: {s.finished}/{s.runs} runs finished")
    last = view.last_sweep
    if last is None:
        console.print("no sweep reviewed yet")
        return
    console.print(f"last sweep {last.sweep_id}: {headline(last)}")
    for title, items in (
        ("regression", last.regressions),
        ("new failure", last.new_failures),
        ("recovery", last.recoveries),
    ):
        for i in items:
            console.print(f"  {title}: {i.series}: {i.detail} — {i.link}")
    for text in last.callouts:
        console.print(f"  note: {text}")
