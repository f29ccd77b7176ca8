"""``pomar agent``: serve this host's devices to the farm until interrupted."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from orchestrator.errors import UsageError
from orchestrator.settings import Settings


@click.command()
@click.option("--emulated", type=click.IntRange(min=0), default=0, help="Serve N emulated devices.")
@click.option(
    "--emulated-first",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Index of the first emulated device (give each host its own range).",
)
@click.option("--fake-ios", type=click.IntRange(min=0), default=0, help="N scripted fake iPhones.")
@click.option(
    "--devices-from",
    "factories",
    multiple=True,
    help="package.module:function returning the devices present now (repeatable).",
)
@click.option("--label", "labels", multiple=True, help="Extra pool for every device (repeatable).")
@click.option("--name", default=None, help="This agent's name (default: host-pid-random).")
@click.option("--heartbeat", "heartbeat_s", type=click.FloatRange(min=0.1), default=2.0)
@click.option(
    "--ttl",
    "ttl_s",
    type=click.FloatRange(min=0.3),
    default=None,
    help="Seconds without a heartbeat before a device is lost (default: 3 heartbeats).",
)
@click.option("--discover", "discover_s", type=click.FloatRange(min=0.1), default=5.0)
@click.pass_obj
def agent(
    settings: Settings,
    emulated: int,
    emulated_first: int,
    fake_ios: int,
    factories: tuple[str, ...],
    labels: tuple[str, ...],
    name: str | None,
    heartbeat_s: float,
    ttl_s: float | None,
    discover_s: float,
) -> int:
    """Serve this host's devices: one worker per device, heartbeats and leases in Redis."""
    from agent.discovery import DeviceSource, emulated_source, factory_source, fake_ios_source
    from agent.serve import Agent, AgentConfig, default_agent_name
    from orchestrator.farm import broker_url_of, open_artifacts
    from orchestrator.leases import RedisLiveness

    broker = broker_url_of(settings)
    sources: list[DeviceSource] = []
    if emulated:
        sources.append(emulated_source(emulated, first=emulated_first))
    if fake_ios:
        sources.append(fake_ios_source(fake_ios))
    sources += [factory_source(spec) for spec in factories]
    if not sources:
        raise UsageError(
            "no devices to serve", hint="pass --emulated N, --fake-ios N or --devices-from"
        )
    config = AgentConfig(
        broker_url=broker,
        name=name or default_agent_name(),
        labels=labels,
        heartbeat_s=heartbeat_s,
        ttl_s=ttl_s or 3 * heartbeat_s,
        discover_s=discover_s,
    )
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("agent").setLevel(logging.INFO)
    served = Agent(
        config,
        sources,
        RedisLiveness(broker),
        open_artifacts(settings),
        settings.data_dir / "cache",
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"agent {config.name} serving; Ctrl-C to stop", err=True)
    served.run(stop)
    return 0
