"""The iPhone backend: the iPhones attached to this host (usbmuxd), served while their device
check passes, and ``pomar devices --check`` over the same transport."""

from __future__ import annotations

from agent.backend import Backend, NotHere, ServeRequest
from agent.devices.ios.attached import AttachedIphones
from agent.devices.ios.bundle import harness_config
from agent.devices.ios.config import IosConfig
from agent.devices.ios.readiness import DeviceCheck, check_devices
from agent.devices.ios.transport import DeviceTransport
from agent.discovery import DeviceSource
from pomar_core.errors import TransportUnavailable, UsageError

USBMUXD_HINT = (
    "usbmuxd always runs on macOS; on Linux install and start usbmuxd, or point "
    "USBMUXD_SOCKET_ADDRESS at one"
)


def open_usbmux_transport(config: IosConfig) -> DeviceTransport:
    """The real transport: usbmuxd through pymobiledevice3. Tests replace this function to
    put fake iPhones behind :func:`serve` and ``pomar devices --check``."""
    # Imported here, not above: opening the transport is what loads pymobiledevice3, so the
    # rest of the backend (and a host without it) never pays for it.
    from agent.devices.ios.pmd3 import Pmd3Transport

    return Pmd3Transport(config)


def require_usbmuxd(transport: DeviceTransport) -> None:
    """Raise ``TransportUnavailable`` in one clear line when iPhones cannot even be listed."""
    try:
        transport.list_devices()
    except TransportUnavailable as exc:
        raise TransportUnavailable(
            f"cannot list iPhones: no usbmuxd answers on this host ({exc.message})",
            hint=USBMUXD_HINT,
        ) from None


def ios_source(
    config: IosConfig, transport: DeviceTransport | None = None, *, recheck_s: float = 30.0
) -> DeviceSource:
    """The iPhones attached now that pass their device check.

    ``transport`` defaults to usbmuxd; listing raises ``TransportUnavailable`` when usbmuxd
    has never answered. Phones held back (not ready, quarantined) are checked again every
    ``recheck_s`` seconds."""
    return AttachedIphones(transport or open_usbmux_transport(config), config, recheck_s=recheck_s)


def _close(transport: DeviceTransport) -> None:
    close = getattr(transport, "close", None)
    if callable(close):
        close()


def serve(request: ServeRequest) -> DeviceSource | NotHere:
    """The attached iPhones (``pomar agent --ios``), getting the harness from ``request.ipa``
    when their version differs. Not required (a bare ``pomar agent``), a host without
    pymobiledevice3 or usbmuxd is :class:`NotHere`."""
    config = harness_config(request.ipa, request.bundle_id)
    try:
        transport = open_usbmux_transport(config)
    except ImportError as exc:  # pymobiledevice3 is a dependency; a broken install says so
        if request.required:
            raise UsageError(f"--ios needs pymobiledevice3: {exc}") from None
        return NotHere("pymobiledevice3 is not importable")
    try:
        require_usbmuxd(transport)
    except TransportUnavailable:
        _close(transport)
        if request.required:
            raise
        return NotHere("no usbmuxd here, so no iPhones")
    return ios_source(config, transport)


def check_attached(config: IosConfig, *, install: bool = False) -> list[DeviceCheck]:
    """Check every attached iPhone (``pomar devices --check``); ``TransportUnavailable`` in
    one line when usbmuxd does not answer."""
    transport = open_usbmux_transport(config)
    try:
        require_usbmuxd(transport)
        return check_devices(transport, config, install=install)
    finally:
        _close(transport)


BACKEND = Backend(
    kind="ios",
    summary="the iPhones attached over USB/Wi-Fi, through the harness app",
    serve=serve,
)
