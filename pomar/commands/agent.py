"""``pomar agent``: serve this host's devices to the farm until interrupted."""

from __future__ import annotations

from typing import Any

import click

from agent.launch import DeviceChoice, chosen_sources, serve_until_signalled
from agent.serve import Agent, AgentConfig, default_agent_name
from orchestrator.farm import broker_url_of
from pomar.commands.agent_service import install_service
from pomar.options import BUNDLE_ID_OPTION, IPA_OPTION
from pomar_core.artifact_stores import open_artifacts
from pomar_core.artifact_stores.metered import MeteredArtifactStore
from pomar_core.leases import RedisLiveness
from pomar_core.logs import configure_logging
from pomar_core.metrics import HeartbeatCollector, serve_from_settings
from pomar_core.settings import Settings


@click.group(invoke_without_command=True)
@click.option(
    "--ios/--no-ios",
    default=None,
    help="Serve the iPhones attached over USB/Wi-Fi (usbmuxd), as they come and go. Default: "
    "on when no other device option is given and usbmuxd answers; --ios without usbmuxd is an "
    "error (exit 3).",
)
@IPA_OPTION
@BUNDLE_ID_OPTION
@click.option("--mac", is_flag=True, help="Serve this Mac (Core ML via coremltools; macOS only).")
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
    "--serve",
    "serve",
    multiple=True,
    metavar="KIND[=N]",
    help="Serve N devices (default 1) of the backend KIND, any registered in "
    "agent/devices/__init__.py; a wrong KIND lists them (repeatable).",
)
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
@click.option(
    "--cooldown",
    "cooldown_s",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Seconds each device rests between runs (cooler, steadier timings).",
)
@click.pass_obj
def agent(
    settings: Settings,
    /,
    labels: tuple[str, ...],
    name: str | None,
    heartbeat_s: float,
    ttl_s: float | None,
    discover_s: float,
    cooldown_s: float,
    **choice: Any,
) -> int:
    """Serve this host's devices: one worker per device, heartbeats and leases in Redis.

    With no device option, serves the attached iPhones: each is checked when it attaches (and
    gets the harness from --ipa when its version differs); phones that are not ready or are
    quarantined are held back and checked again every 30 s. `pomar devices --check` shows
    what a phone is missing. `pomar agent install-service` keeps one running."""
    if click.get_current_context().invoked_subcommand is not None:
        return 0
    broker = broker_url_of(settings)
    sources = chosen_sources(DeviceChoice(**choice))
    config = AgentConfig(
        broker_url=broker,
        name=name or default_agent_name(),
        labels=labels,
        heartbeat_s=heartbeat_s,
        ttl_s=ttl_s or 3 * heartbeat_s,
        discover_s=discover_s,
        cooldown_s=cooldown_s,
    )
    configure_logging(settings.log_format, ours=("agent",))
    cache = settings.data_dir / "cache"
    liveness = RedisLiveness(broker)
    artifacts = open_artifacts(settings)
    if settings.metrics_port is not None:
        serve_from_settings(
            settings.metrics_port,
            settings.metrics_address,
            [HeartbeatCollector(liveness, agent=config.name)],
        )
        artifacts = MeteredArtifactStore(artifacts)
    served = Agent(config, sources, liveness, artifacts, cache)
    click.echo(f"agent {config.name} serving; Ctrl-C to stop", err=True)
    serve_until_signalled(served)
    return 0


agent.add_command(install_service)
