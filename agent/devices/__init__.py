"""Device backends implementing :class:`agent.device.Device`, registered once.

Each backend is a package ``agent/devices/<kind>/`` (``emulated``: any OS; ``mac``: Core ML on
the host, macOS only; ``ios``: pymobiledevice3 + the harness app, with its scripted fake) whose
``backend.py`` defines ``BACKEND``, an :class:`agent.backend.Backend`. :data:`REGISTERED` lists
those modules: adding a backend is its package plus one line here, and ``pomar agent --serve
KIND[=N]`` and embedded runs (``agent.local``) find it.
"""

from __future__ import annotations

import importlib
from functools import cache

from agent.backend import Backend
from pomar_core.errors import UsageError

REGISTERED = (
    "agent.devices.emulated.backend",
    "agent.devices.mac.backend",
    "agent.devices.ios.backend",
    "agent.devices.ios.fake.backend",
)
"""The ``backend.py`` of every backend, in the order their devices are listed."""


@cache
def backends() -> tuple[Backend, ...]:
    """Every registered backend (imported on first use: each imports its heavy or
    platform-only libraries only when it opens devices)."""
    found = tuple(importlib.import_module(name).BACKEND for name in REGISTERED)
    for item in found:
        assert isinstance(item, Backend), item
    return found


def backend(kind: str) -> Backend:
    """The backend named ``kind``; a ``UsageError`` naming the registered kinds otherwise."""
    for item in backends():
        if item.kind == kind:
            return item
    known = ", ".join(b.kind for b in backends())
    raise UsageError(f"no device backend '{kind}'", hint=f"registered backends: {known}")
