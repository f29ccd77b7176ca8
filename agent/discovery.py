"""Where an agent's devices come from: emulated devices by configuration, fake iPhones, and
any ``module:function`` returning devices (custom backends; tests use it for slow devices).

Each source is called on every discovery pass, so a source that stops listing a device makes
the agent stop serving it, and one that lists it again brings it back. Real iPhones and the
host Mac join here once their backends offer a discovery function.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

from agent.device import Device, RunOutcome, RunRequest
from orchestrator.errors import UsageError
from orchestrator.wire import DeviceInfo

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
    from agent.devices.emulated import EmulatedDevice

    devices: list[Device] = [EmulatedDevice(first + i) for i in range(count)]
    return lambda: devices


def fake_ios_source(count: int) -> DeviceSource:
    """``count`` scripted fake iPhones from the iOS backend (``pomar agent --fake-ios N``)."""
    from agent.ios.fake import fake_ios_devices

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

    def source() -> Sequence[Device]:
        found: Sequence[Device] = factory()
        return found

    return source
