"""Where an agent's devices come from: the sources of the registered backends
(``agent.devices.REGISTERED``: attached iPhones, the host Mac, emulated devices, fake iPhones),
and any ``module:function`` returning devices (custom sources; tests use it for slow devices
and for fake iPhones with scripted faults).

Each source is called on every discovery pass, so a source that stops listing a device makes
the agent stop serving it, and one that lists it again brings it back: iPhones that are
plugged in, unplugged, held back by their device check or quarantined come and go this way.
A source may also have a ``held()`` method listing ``(device, reason)`` for devices present
but not to be served; the agent heartbeats those as ``quarantined``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence

from agent.device import Device, RunOutcome, RunRequest
from pomar_core.errors import UsageError
from pomar_core.wire import DeviceInfo

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


def fixed_source(devices: Iterable[Device]) -> DeviceSource:
    """A source that always lists the same devices (emulated, the host Mac, fake iPhones)."""
    listed: list[Device] = list(devices)
    return lambda: listed


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
