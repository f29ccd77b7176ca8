"""``pomar schedule validate/apply/run-now/add/list/remove/serve``: nightly sweeps fired by
Celery beat, kept as a farm file in the team's repository (or added one by one)."""

from __future__ import annotations

import functools
import json
import logging
import signal
from pathlib import Path
from types import FrameType

import click
from rich.console import Console
from rich.table import Table

from orchestrator.stores import open_store
from pomar.options import parse_compute_units
from pomar_core.errors import UsageError
from pomar_core.settings import Settings


@click.group()
def schedule() -> None:
    """Named matrices (models × pools × compute units) run on a cron expression."""


@schedule.command("validate")
@click.argument("farm_file", type=click.Path(path_type=Path))
def validate(farm_file: Path) -> int:
    """Check FARM_FILE (TOML): every error names the file, line and field."""
    from orchestrator.farmfile import load_farm_file

    farm = load_farm_file(farm_file)
    names = ", ".join(farm.schedules) or "no schedules"
    click.echo(f"{farm_file}: ok ({names}; {len(farm.notify.webhooks)} webhook(s))")
    return 0


@schedule.command("apply")
@click.argument("farm_file", type=click.Path(path_type=Path))
@click.pass_obj
def apply(settings: Settings, farm_file: Path) -> int:
    """Store FARM_FILE's schedules; the coordinator's beat picks them up within 30 s."""
    from orchestrator.farmfile import load_farm_file
    from orchestrator.sweeps import apply_farm_file

    applied = apply_farm_file(open_store(settings.resolved_store_url), load_farm_file(farm_file))
    for word, names in (
        ("added", applied.added),
        ("changed", applied.changed),
        ("unchanged", applied.unchanged),
        ("removed", applied.removed),
    ):
        if names:
            click.echo(f"{word}: {', '.join(names)}")
    return 0


@schedule.command("run-now")
@click.argument("name")
@click.pass_obj
def run_now(settings: Settings, name: str) -> int:
    """Have the coordinator fire the schedule NAME now (its cron is unaffected)."""
    from orchestrator.farm import broker_url_of
    from orchestrator.sweeps import run_now as fire_now
    from pomar_core.celery_app import make_app

    app = make_app(broker_url_of(settings), name="pomar-cli")
    fire_now(open_store(settings.resolved_store_url), app, name)
    click.echo(f"schedule {name}: fired; see `pomar farm` for the sweep")
    return 0


@schedule.command("add")
@click.argument("name")
@click.option("--cron", required=True, help="Five fields, UTC: '0 2 * * *' is 02:00 nightly.")
@click.option("--model", "models", multiple=True, help="A model (repeatable).")
@click.option("--pool", "pools", multiple=True, help="A pool (repeatable).")
@click.option("--compute-units", default="all", show_default=True, help="cpu,gpu,ane,all")
@click.pass_obj
def add(
    settings: Settings,
    name: str,
    cron: str,
    models: tuple[str, ...],
    pools: tuple[str, ...],
    compute_units: str,
) -> int:
    """Add or replace the schedule NAME."""
    from orchestrator.scheduler import new_schedule

    units = tuple(u.value for u in parse_compute_units(compute_units))
    store = open_store(settings.resolved_store_url)
    store.save_schedule(new_schedule(name, cron, models, pools, units))
    click.echo(f"schedule {name}: {cron}")
    return 0


@schedule.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def list_schedules(settings: Settings, as_json: bool) -> int:
    """Every schedule and when it last fired."""
    found = open_store(settings.resolved_store_url).list_schedules()
    if as_json:
        click.echo(json.dumps({"schedules": [s.model_dump(mode="json") for s in found]}))
        return 0
    table = Table(title="schedules")
    for column in ("name", "cron", "zone", "models", "pools", "units", "from", "last fired"):
        table.add_column(column)
    for s in found:
        last = f"{s.last_fired_at:%Y-%m-%d %H:%M} UTC" if s.last_fired_at else "never"
        table.add_row(
            s.name,
            s.cron,
            s.timezone,
            ", ".join(s.models),
            ", ".join(s.pools),
            ",".join(s.compute_units),
            "farm file" if s.plan else "schedule add",
            last,
        )
    Console().print(table)
    return 0


@schedule.command("remove")
@click.argument("name")
@click.pass_obj
def remove(settings: Settings, name: str) -> int:
    """Remove the schedule NAME."""
    if not open_store(settings.resolved_store_url).delete_schedule(name):
        raise UsageError(f"no schedule '{name}'", hint="see `pomar schedule list`")
    click.echo(f"removed schedule {name}")
    return 0


@schedule.command("serve")
@click.pass_obj
def serve(settings: Settings) -> int:
    """Run Celery beat over the stored schedules (one per farm)."""
    from celery.beat import Service

    from orchestrator.farm import broker_url_of
    from orchestrator.scheduler import StoreScheduler
    from pomar_core.celery_app import make_app

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    app = make_app(broker_url_of(settings), name="pomar-beat")
    store = open_store(settings.resolved_store_url)
    service = Service(
        app, max_interval=30, scheduler_cls=functools.partial(StoreScheduler, store=store)
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        service.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo("beat running; Ctrl-C to stop", err=True)
    service.start()
    return 0
