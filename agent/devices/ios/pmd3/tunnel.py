"""iOS 17+ reaches developer services (DVT) only through an RSD tunnel: tunneld (a root daemon
serving every device) or the userspace tunnel (no root, but one per process: PyTCP's stack is a
process-global singleton), so this module hands out at most one userspace tunnel per process."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

from pymobiledevice3.exceptions import TunneldConnectionError
from pymobiledevice3.remote.remote_service_discovery import RemoteServiceDiscoveryService
from pymobiledevice3.remote.userspace_tunnel import UserspaceRsdTunnel
from pymobiledevice3.tunneld.api import get_tunneld_device_by_udid

from pomar_core.errors import TransportUnavailable

log = logging.getLogger(__name__)

_userspace_lock = threading.Lock()
_userspace_owner: str | None = None


@dataclass
class Tunnel:
    rsd: RemoteServiceDiscoveryService
    kind: Literal["tunneld", "userspace"]
    _handle: Any = None

    async def close(self) -> None:
        global _userspace_owner
        if self.kind == "userspace":
            await self._handle.aclose()
            with _userspace_lock:
                _userspace_owner = None
        else:
            await self.rsd.close()


async def open_tunnel(
    udid: str, mode: Literal["auto", "tunneld", "userspace"], tunneld_address: tuple[str, int]
) -> Tunnel:
    """A connected RSD for ``udid``. Library exceptions propagate to the caller's translation."""
    if mode in ("auto", "tunneld"):
        try:
            rsd = await get_tunneld_device_by_udid(udid, tunneld_address=tunneld_address)
        except TunneldConnectionError:
            if mode == "tunneld":
                raise
            rsd = None
            log.info("tunneld is not running; trying the userspace tunnel for %s", udid)
        if rsd is not None:
            return Tunnel(rsd, "tunneld")
        if mode == "tunneld":
            raise TransportUnavailable(
                f"tunneld has no tunnel for {udid}",
                hint="is the iPhone attached over USB and trusted? "
                "restart `sudo python -m pymobiledevice3 remote tunneld`",
                device_udid=udid,
            )
    return await _open_userspace(udid)


async def _open_userspace(udid: str) -> Tunnel:
    global _userspace_owner
    with _userspace_lock:
        if _userspace_owner not in (None, udid):
            raise TransportUnavailable(
                f"this process already holds the userspace tunnel for {_userspace_owner}",
                hint="run one agent worker per iOS 17+ device, or start "
                "`sudo python -m pymobiledevice3 remote tunneld`",
                device_udid=udid,
            )
        _userspace_owner = udid
    handle = UserspaceRsdTunnel(serial=udid, autopair=False)
    try:
        rsd = await handle.aopen()
    except BaseException:
        with _userspace_lock:
            _userspace_owner = None
        raise
    return Tunnel(rsd, "userspace", handle)
