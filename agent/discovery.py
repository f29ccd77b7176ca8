"""Where an agent's devices come from: attached iPhones (usbmuxd), the host Mac, emulated
devices by configuration, fake iPhones, and any ``module:function`` returning devices (custom
backends; tests use it for slow devices and for fake iPhones with scripted faults).

Each source is called on every discovery pass, so a source that stops listing a device makes
the agent stop serving it, and one that lists it again brings it back: iPhones that are
plugged in, unplugged, held back by their device check or quarantined come and go this way.
A source may also have a ``held()`` method listing ``(device, reason)`` for devices present
but not to be served; the agent heartbeats those as ``quarantined``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from agent.device import Device, RunOutcome, RunRequest
from pomar_core.errors import TransportUnavailable, UsageError
from pomar_core.wire import DeviceInfo

if TYPE_CHECKING:
    from agent.devices.ios.config import IosConfig
    from agent.devices.ios.transport import DeviceTransport

DeviceSource = Callable[[], Sequence[Device]]


class LabelledDevice:
    """A device seen through this agent: its pools gain the agent's labels, and it names the
    agent host. Everything else is the wrapped device's."""

    def __init__(self, device: Device, labels: Sequence[str], host: str) -> None:
        self.device = device
        base = device.info
        pools = tuple(dict.fromkeys([*base.pools, *labels]))
        self._info = base.model_copy(update={"pools": pools, "agent_host": host})

    @property
    def info(self) -> DeviceInfo:
        return self._info

    def check_ready(self) -> None:
        self.device.check_ready()

    def run(self, request: RunRequest) -> RunOutcome:
        return self.device.run(request)


def emulated_source(count: int, *, first: int = 0) -> DeviceSource:
    """``count`` emulated devices ``emulated-<first>`` … (give each agent its own range)."""
    from agent.devices.emulated.device import EmulatedDevice

    devices: list[Device] = [EmulatedDevice(first + i) for i in range(count)]
    return lambda: devices


def open_ios_transport(config: IosConfig) -> DeviceTransport:
    """The real transport: usbmuxd through pymobiledevice3 (imported only here, on demand).
    Tests replace this function to put fake iPhones behind ``ios_source`` and
    ``pomar devices --check``."""
    from agent.devices.ios.pmd3 import Pmd3Transport

    return Pmd3Transport(config)


USBMUXD_HINT = (
    "usbmuxd always runs on macOS; on Linux install and start usbmuxd, or point "
    "USBMUXD_SOCKET_ADDRESS at one"
)


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
    """The iPhones attached now that pass their device check (``pomar agent --ios``).

    ``transport`` defaults to usbmuxd; listing raises ``TransportUnavailable`` when usbmuxd
    has never answered. Phones held back (not ready, quarantined) are checked again every
    ``recheck_s`` seconds."""
    from agent.devices.ios.attached import AttachedIphones

    return AttachedIphones(transport or open_ios_transport(config), config, recheck_s=recheck_s)


def mac_source() -> DeviceSource:
    """This Mac, running Core ML through coremltools (``pomar agent --mac``). Raises
    ``DeviceNotReady`` with the reason on any other OS or without Core ML bindings."""
    from agent.devices.mac.device import MacDevice

    device = MacDevice()
    device.check_ready()
    devices: list[Device] = [device]
    return lambda: devices


def fake_ios_source(count: int) -> DeviceSource:
    """``count`` scripted fake iPhones from the iOS backend (``pomar agent --fake-ios N``)."""
    from agent.devices.ios.fake import fake_ios_devices

    devices: list[Device] = list(fake_ios_devices(count))
    return lambda: devices


def factory_source(spec: str) -> DeviceSource:
    """``package.module:function``: a callable returning the devices present right now."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageError(
            f"bad device source '{spec}'", hint="use package.module:function returning devices"
        )
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise UsageError(
            f"cannot load device source '{spec}': {exc}",
            hint="check the module is importable on this host and the function exists",
        ) from None
    if not callable(factory):
        raise UsageError(f"device source '{spec}' is not callable")
    return _FactorySource(factory)


class _FactorySource:
    """A ``module:function`` source; the function's own ``held`` attribute, when it has one,
    lists its held-back devices (see ``agent.serve.Agent``)."""

    def __init__(self, factory: Callable[[], Sequence[Device]]) -> None:
        self._factory = factory

    def __call__(self) -> Sequence[Device]:
        return self._factory()

    def held(self) -> Sequence[tuple[Device, str]]:
        held_of = getattr(self._factory, "held", None)
        if not callable(held_of):
            return ()
        found: Sequence[tuple[Device, str]] = held_of()
        return found
