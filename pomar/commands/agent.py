"""``pomar agent``: serve this host's devices to the farm until interrupted."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from pomar_core.errors import TransportUnavailable, UsageError
from pomar_core.settings import Settings

if TYPE_CHECKING:
    from agent.discovery import DeviceSource

IPA_OPTION = click.option(
    "--ipa",
    "ipa",
    type=click.Path(exists=True, path_type=Path),
    envvar="POMAR_HARNESS_APP",
    default=None,
    help="The signed harness app (.ipa or .app) to install on phones whose version differs "
    "[env POMAR_HARNESS_APP].",
)
BUNDLE_ID_OPTION = click.option(
    "--bundle-id",
    default=None,
    help="The harness app's bundle id when no --ipa says it (default org.pomar.harness).",
)


@click.command()
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
    ios: bool | None,
    ipa: Path | None,
    bundle_id: str | None,
    mac: bool,
    emulated: int,
    emulated_first: int,
    fake_ios: int,
    factories: tuple[str, ...],
    labels: tuple[str, ...],
    name: str | None,
    heartbeat_s: float,
    ttl_s: float | None,
    discover_s: float,
    cooldown_s: float,
) -> int:
    """Serve this host's devices: one worker per device, heartbeats and leases in Redis.

    With no device option, serves the attached iPhones: each is checked when it attaches (and
    gets the harness from --ipa when its version differs); phones that are not ready or are
    quarantined are held back and checked again every 30 s. `pomar devices --check` shows
    what a phone is missing."""
    from agent.discovery import (
        emulated_source,
        factory_source,
        fake_ios_source,
        mac_source,
    )
    from agent.serve import Agent, AgentConfig, default_agent_name
    from orchestrator.farm import broker_url_of
    from pomar_core.artifact_stores import open_artifacts
    from pomar_core.leases import RedisLiveness

    broker = broker_url_of(settings)
    sources: list[DeviceSource] = []
    if mac:
        sources.append(mac_source())
    if emulated:
        sources.append(emulated_source(emulated, first=emulated_first))
    if fake_ios:
        sources.append(fake_ios_source(fake_ios))
    sources += [factory_source(spec) for spec in factories]
    # Implicit only on a bare `pomar agent`: an emulated or test agent on a Mac must never
    # pick up the phones on the desk.
    explicit_ios = ios is True
    no_usbmuxd: str | None = None
    if ios or (ios is None and not sources):
        iphones = _iphones(ipa, bundle_id, explicit=explicit_ios)
        if isinstance(iphones, str):
            no_usbmuxd = iphones
        else:
            sources.append(iphones)
    if not sources:
        why = f" ({no_usbmuxd})" if no_usbmuxd else ""
        raise UsageError(
            f"no devices to serve{why}",
            hint="pass --ios (attached iPhones), --mac, --emulated N, --fake-ios N or "
            "--devices-from",
        )
    config = AgentConfig(
        broker_url=broker,
        name=name or default_agent_name(),
        labels=labels,
        heartbeat_s=heartbeat_s,
        ttl_s=ttl_s or 3 * heartbeat_s,
        discover_s=discover_s,
        cooldown_s=cooldown_s,
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


def _iphones(ipa: Path | None, bundle_id: str | None, *, explicit: bool) -> DeviceSource | str:
    """The attached-iPhones source, or (implicit only) a short reason there is none here."""
    from agent.devices.ios.bundle import harness_config
    from agent.discovery import ios_source, open_ios_transport, require_usbmuxd

    config = harness_config(ipa, bundle_id)
    try:
        transport = open_ios_transport(config)
    except ImportError as exc:  # pymobiledevice3 is a dependency; a broken install says so
        if explicit:
            raise UsageError(f"--ios needs pymobiledevice3: {exc}") from None
        return "pymobiledevice3 is not importable"
    try:
        require_usbmuxd(transport)
    except TransportUnavailable:
        close = getattr(transport, "close", None)
        if callable(close):
            close()
        if explicit:
            raise
        return "no usbmuxd here, so no iPhones"
    return ios_source(config, transport)
