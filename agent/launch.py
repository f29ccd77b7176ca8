"""Starting an agent: the device sources its command line chose, and serving them until the
process is told to stop (SIGINT, SIGTERM)."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from agent import discovery
from agent.devices.ios.bundle import harness_config
from agent.discovery import DeviceSource
from agent.serve import Agent
from pomar_core.errors import TransportUnavailable, UsageError


@dataclass(frozen=True)
class DeviceChoice:
    """Which devices ``pomar agent`` was asked to serve."""

    ios: bool | None = None
    """True: the attached iPhones (usbmuxd must answer); None: them too when nothing else is
    chosen and usbmuxd answers; False: never."""
    ipa: Path | None = None
    bundle_id: str | None = None
    mac: bool = False
    emulated: int = 0
    emulated_first: int = 0
    fake_ios: int = 0
    factories: tuple[str, ...] = ()


def chosen_sources(choice: DeviceChoice) -> list[DeviceSource]:
    """The sources of ``choice``.

    Raises:
        UsageError: nothing to serve (says how to choose something), or ``--ios`` without
            pymobiledevice3.
        TransportUnavailable: ``--ios`` on a host where usbmuxd does not answer.
    """
    sources: list[DeviceSource] = []
    if choice.mac:
        sources.append(discovery.mac_source())
    if choice.emulated:
        sources.append(discovery.emulated_source(choice.emulated, first=choice.emulated_first))
    if choice.fake_ios:
        sources.append(discovery.fake_ios_source(choice.fake_ios))
    sources += [discovery.factory_source(spec) for spec in choice.factories]
    # Implicit only on a bare `pomar agent`: an emulated or test agent on a Mac must never
    # pick up the phones on the desk.
    no_usbmuxd: str | None = None
    if choice.ios or (choice.ios is None and not sources):
        iphones = _iphones(choice, explicit=choice.ios is True)
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
    return sources


def _iphones(choice: DeviceChoice, *, explicit: bool) -> DeviceSource | str:
    """The attached-iPhones source, or (implicit only) a short reason there is none here."""
    config = harness_config(choice.ipa, choice.bundle_id)
    try:
        transport = discovery.open_ios_transport(config)
    except ImportError as exc:  # pymobiledevice3 is a dependency; a broken install says so
        if explicit:
            raise UsageError(f"--ios needs pymobiledevice3: {exc}") from None
        return "pymobiledevice3 is not importable"
    try:
        discovery.require_usbmuxd(transport)
    except TransportUnavailable:
        close = getattr(transport, "close", None)
        if callable(close):
            close()
        if explicit:
            raise
        return "no usbmuxd here, so no iPhones"
    return discovery.ios_source(config, transport)


def serve_until_signalled(agent: Agent) -> None:
    """Run ``agent`` in this (main) thread until SIGINT or SIGTERM, then stop its workers."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent.run(stop)
