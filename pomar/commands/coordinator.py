"""``pomar coordinator``: migrate the store, record results, reconcile, until interrupted."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from pomar_core.logs import configure_logging
from pomar_core.settings import Settings


@click.command()
@click.option("--max-attempts", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--wait-deadline",
    "wait_s",
    type=click.FloatRange(min=1),
    default=3600.0,
    show_default=True,
    help="Seconds a run may wait for a live device of its pool before it fails.",
)
@click.option("--tick", "tick_s", type=click.FloatRange(min=0.05), default=1.0, show_default=True)
@click.option(
    "--stale-after",
    "stale_s",
    type=click.FloatRange(min=0.1),
    default=15.0,
    show_default=True,
    help="Seconds a device may say it runs something else before its run is retried.",
)
@click.option(
    "--lost-after",
    "lost_s",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="Seconds a device's heartbeat may be missing before it is lost and its run retried.",
)
@click.pass_obj
def coordinator(
    settings: Settings,
    max_attempts: int,
    wait_s: float,
    tick_s: float,
    stale_s: float,
    lost_s: float,
) -> int:
    """Run the coordinator: apply store migrations, record results, requeue lost runs."""
    from orchestrator.farm import connect, serve_coordinator
    from orchestrator.localise import LocalisePolicy

    # Our own decisions (ignored duplicates, requeues) are worth a line; Celery's chatter not.
    configure_logging(settings.log_format, ours=("orchestrator",))
    farm = connect(settings, migrate=True, max_attempts=max_attempts, wait_s=wait_s)
    if settings.metrics_port is not None:
        import redis

        from orchestrator.farm import broker_url_of
        from orchestrator.metrics import QueueCollector, observe_recorded
        from pomar_core.metrics import HeartbeatCollector, serve_from_settings

        queues = QueueCollector(redis.Redis.from_url(broker_url_of(settings)))
        collectors = [HeartbeatCollector(farm.liveness), queues]
        serve_from_settings(settings.metrics_port, settings.metrics_address, collectors)
        farm.coordinator.on_recorded.append(observe_recorded)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo("coordinator running; Ctrl-C to stop", err=True)
    serve_coordinator(
        farm,
        stop,
        cache_dir=settings.data_dir / "cache",
        tick_s=tick_s,
        stale_after_s=stale_s,
        lost_after_s=lost_s,
        localise=LocalisePolicy(max_runs=settings.localise_max_runs, auto=settings.localise_auto),
    )
    return 0
