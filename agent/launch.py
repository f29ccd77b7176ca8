"""Starting an agent: the device sources its command line chose, and serving them until the
process is told to stop (SIGINT, SIGTERM)."""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from agent import devices, discovery
from agent.backend import NotHere, ServeRequest
from agent.discovery import DeviceSource
from agent.serve import Agent
from pomar_core.errors import UsageError


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
    serve: tuple[str, ...] = ()
    """``KIND`` or ``KIND=N`` per registered backend (``agent.devices.REGISTERED``)."""
    factories: tuple[str, ...] = ()


def chosen_sources(choice: DeviceChoice) -> list[DeviceSource]:
    """The sources of ``choice``, each from its registered backend (``agent.devices``).

    Raises:
        UsageError: nothing to serve (says how to choose something), an unknown ``--serve``
            kind, or ``--ios`` without pymobiledevice3.
        TransportUnavailable: ``--ios`` on a host where usbmuxd does not answer.
    """
    sources = [devices.backend(kind).serve(request) for kind, request in _requests(choice)]
    served = [s for s in sources if not isinstance(s, NotHere)]
    served += [discovery.factory_source(spec) for spec in choice.factories]
    # Implicit only on a bare `pomar agent`: an emulated or test agent on a Mac must never
    # pick up the phones on the desk.
    not_here: str | None = None
    if choice.ios or (choice.ios is None and not served):
        iphones = devices.backend("ios").serve(
            ServeRequest(required=choice.ios is True, ipa=choice.ipa, bundle_id=choice.bundle_id)
        )
        if isinstance(iphones, NotHere):
            not_here = iphones.reason
        else:
            served.append(iphones)
    if not served:
        why = f" ({not_here})" if not_here else ""
        raise UsageError(
            f"no devices to serve{why}",
            hint="pass --ios (attached iPhones), --mac, --emulated N, --fake-ios N, "
            "--serve KIND[=N] or --devices-from",
        )
    return served


def _requests(choice: DeviceChoice) -> list[tuple[str, ServeRequest]]:
    """(backend kind, request) for every device option but ``--ios`` and ``--devices-from``."""
    requests: list[tuple[str, ServeRequest]] = []
    if choice.mac:
        requests.append(("mac", ServeRequest()))
    if choice.emulated:
        requests.append(
            ("emulated", ServeRequest(count=choice.emulated, first=choice.emulated_first))
        )
    if choice.fake_ios:
        requests.append(("fake-ios", ServeRequest(count=choice.fake_ios)))
    return requests + [_parse_serve(spec, choice) for spec in choice.serve]


def _parse_serve(spec: str, choice: DeviceChoice) -> tuple[str, ServeRequest]:
    """``KIND`` or ``KIND=N`` (``--serve``)."""
    kind, _, count = spec.partition("=")
    if count and not count.isdigit():
        raise UsageError(f"bad --serve '{spec}'", hint="use KIND or KIND=N, e.g. emulated=4")
    request = ServeRequest(
        count=int(count) if count else 1,
        first=choice.emulated_first,
        ipa=choice.ipa,
        bundle_id=choice.bundle_id,
    )
    return kind.strip(), request


def serve_until_signalled(agent: Agent) -> None:
    """Run ``agent`` in this (main) thread until SIGINT or SIGTERM, then stop its workers."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    agent.run(stop)
