"""The pymobiledevice3 adapter: the only package in Pomar that imports pymobiledevice3.

It implements ``agent.devices.ios.transport`` over pymobiledevice3 11.x (asyncio): each session
owns a thread running its own event loop (``connection.py``) and exposes synchronous verbs, one
module per service of ``agent.devices.ios.services`` (``status``, ``apps``, ``files``,
``processes``, ``sampling``, ``reports``) composed in ``session.py``; every library exception
is translated into ``pomar_core.errors`` here (``errors.py``). ``contract.py`` lists every name
and method used, which ``tests/agent/devices/ios/test_pmd3_contract.py`` checks against the
installed library. Importing this package does not import pymobiledevice3; opening a transport
does."""

from agent.devices.ios.pmd3.transport import Pmd3Transport

__all__ = ["Pmd3Transport"]
