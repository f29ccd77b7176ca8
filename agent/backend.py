"""A device backend as the agent sees it: how ``pomar agent`` serves its devices, and which
devices it offers embedded runs (``pomar check`` without a farm), by device id.

Each backend package ``agent/devices/<kind>/`` describes itself in its ``backend.py`` as one
:class:`Backend` named ``BACKEND``; ``agent.devices.REGISTERED`` lists those modules, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.device import Device
from agent.discovery import DeviceSource


@dataclass(frozen=True)
class ServeRequest:
    """What ``pomar agent`` asks of one backend. A backend reads the fields it has a use for."""

    count: int = 1
    """How many devices, for backends that make them (emulated, fake iPhones)."""
    first: int = 0
    """Index of the first one (give each host its own range)."""
    required: bool = True
    """False when the backend was not named but tried by default: it may answer
    :class:`NotHere` instead of raising when this host has none of its devices."""
    ipa: Path | None = None
    """The signed harness app to install on phones (iPhone backends)."""
    bundle_id: str | None = None


@dataclass(frozen=True)
class NotHere:
    """This host has none of a backend's devices (only when ``ServeRequest.required`` is False)."""

    reason: str


def _no_local_device(device_id: str) -> Device | None:
    return None


def _no_local_ids() -> str | None:
    return None


@dataclass(frozen=True)
class Backend:
    """One kind of device, registered once in ``agent.devices.REGISTERED``."""

    kind: str
    """The name ``pomar agent --serve KIND`` takes."""
    summary: str
    serve: Callable[[ServeRequest], DeviceSource | NotHere]
    """The source ``pomar agent`` serves. Raises a ``PomarError`` saying what is missing."""
    local_device: Callable[[str], Device | None] = _no_local_device
    """The device with this id for an embedded run, or None when the id is not this backend's
    (or it has no such devices on this host)."""
    local_ids: Callable[[], str | None] = _no_local_ids
    """How this host names the backend's local devices (``emulated-N``), None when none here."""
