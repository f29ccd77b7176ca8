"""One open iPhone over pymobiledevice3: lockdown, the developer-services provider (the
lockdown below iOS 17, a tunnel's RSD from 17 on), one DVT connection, and the session's own
event loop (``loop.py``). Every service of the session (``status.py``, ``apps.py``,
``files.py``, ``processes.py``, ``sampling.py``, ``reports.py``) runs its calls through
:meth:`Pmd3Connection.call` or :meth:`Pmd3Connection.spawn`, where library exceptions are
translated (``errors.py``) and a dropped connection resets DVT."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

from packaging.version import Version
from pymobiledevice3 import usbmux
from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.services.dvt.instruments.device_info import DeviceInfo
from pymobiledevice3.services.dvt.instruments.dvt_provider import DvtProvider
from pymobiledevice3.services.dvt.instruments.process_control import ProcessControl

from agent.devices.ios.config import IosConfig
from agent.devices.ios.pmd3.errors import CAUGHT, translate
from agent.devices.ios.pmd3.loop import LoopThread
from agent.devices.ios.pmd3.tunnel import Tunnel, open_tunnel
from pomar_core.errors import DeviceError, DeviceLost, PomarError, TransientDeviceError

log = logging.getLogger(__name__)
T = TypeVar("T")

TUNNEL_MIN_VERSION = Version("17.0")


class Pmd3Connection:
    """The connections to one iPhone. Open with :meth:`open`; close when done."""

    def __init__(self, udid: str, config: IosConfig, loop: LoopThread, lockdown: Any) -> None:
        self.udid = udid
        self.config = config
        self.loop = loop
        self.lockdown = lockdown
        self.tunnel: Tunnel | None = None
        self._dvt_stack: AsyncExitStack | None = None
        self._process_control: Any = None
        self._device_info: Any = None

    @classmethod
    def open(cls, udid: str, config: IosConfig) -> Pmd3Connection:
        loop = LoopThread(f"pmd3-{udid[-8:]}")

        async def connect() -> Any:
            # autopair=False: probing must never pop a Trust dialog and wait for a human.
            return await create_using_usbmux(serial=udid, autopair=False)

        try:
            lockdown = loop.run(guarded(connect, udid, "connecting to lockdownd"), 30)
        except TimeoutError as exc:
            loop.close()
            raise TransientDeviceError(
                f"lockdownd on {udid} did not answer", device_udid=udid
            ) from exc
        except BaseException:
            loop.close()
            raise
        return cls(udid, config, loop, lockdown)

    @property
    def ios_version(self) -> Version:
        return Version(str(self.lockdown.product_version))

    @property
    def needs_tunnel(self) -> bool:
        """iOS 17+ reaches developer services only through a tunnel."""
        return self.ios_version >= TUNNEL_MIN_VERSION

    # -- calls -------------------------------------------------------------------------------

    def call(self, make: Callable[[], Awaitable[T]], doing: str, timeout: float | None = None) -> T:
        """Run ``make()`` on the session loop and wait; ``DeviceError``\\ s only."""
        limit = timeout or self.config.call_timeout_s
        try:
            return self.loop.run(self._guard(make, doing), limit)
        except TimeoutError as exc:
            raise TransientDeviceError(
                f"{doing}: no answer within {limit:g} s",
                hint="retry; if it persists, reboot the iPhone",
                device_udid=self.udid,
            ) from exc

    def spawn(
        self, make: Callable[[], Awaitable[None]], doing: str
    ) -> concurrent.futures.Future[None]:
        """Run ``make()`` in the background on the session loop (sampling, log streams)."""
        return self.loop.spawn(guarded(make, self.udid, doing))

    async def _guard(self, make: Callable[[], Awaitable[T]], doing: str) -> T:
        try:
            return await guarded(make, self.udid, doing)
        except DeviceLost:
            await self.reset_developer()
            if await self._still_attached():
                raise TransientDeviceError(
                    f"{doing}: the connection dropped but the iPhone is still attached",
                    device_udid=self.udid,
                ) from None
            raise
        except DeviceError:
            await self.reset_developer()
            raise

    async def _still_attached(self) -> bool:
        try:
            return any(d.matches_udid(self.udid) for d in await usbmux.list_devices())
        except CAUGHT:
            return False

    # -- developer services ------------------------------------------------------------------

    async def developer_provider(self) -> Any:
        """Lockdown below iOS 17; the tunnel's RSD from 17 on (one per session)."""
        if not self.needs_tunnel:
            return self.lockdown
        if self.tunnel is None:
            self.tunnel = await open_tunnel(
                self.udid, self.config.tunnel, self.config.tunneld_address
            )
        return self.tunnel.rsd

    async def dvt(self) -> tuple[Any, Any]:
        """(ProcessControl, DeviceInfo) on one DTX connection, reopened after a failure."""
        if self._dvt_stack is None:
            stack = AsyncExitStack()
            try:
                dvt = await stack.enter_async_context(DvtProvider(await self.developer_provider()))
                self._process_control = await stack.enter_async_context(ProcessControl(dvt))
                self._device_info = await stack.enter_async_context(DeviceInfo(dvt))
            except BaseException:
                await stack.aclose()
                raise
            self._dvt_stack = stack
        return self._process_control, self._device_info

    async def reset_developer(self) -> None:
        stack, self._dvt_stack = self._dvt_stack, None
        if stack is not None:
            try:
                await stack.aclose()
            except CAUGHT as exc:
                log.debug("closing DVT on %s: %s", self.udid, exc)

    def close(self) -> None:
        async def go() -> None:
            await self.reset_developer()
            if self.tunnel is not None:
                tunnel, self.tunnel = self.tunnel, None
                await tunnel.close()
            if self.lockdown is not None:
                await self.lockdown.close()

        try:
            self.loop.run(guarded(go, self.udid, "closing"), 15)
        except (DeviceError, TimeoutError) as exc:
            log.info("closing %s: %s", self.udid, exc)
        finally:
            self.loop.close()


async def guarded(make: Callable[[], Awaitable[T]], udid: str | None, doing: str) -> T:
    """Await ``make()`` and translate every library exception at this one boundary."""
    try:
        return await make()
    except PomarError:
        raise
    except asyncio.CancelledError:
        raise
    except CAUGHT as exc:
        raise translate(exc, udid, doing) from exc


class Pmd3Service:
    """A session service: one narrow protocol of ``agent.devices.ios.services`` over a
    :class:`Pmd3Connection`. A service whose verbs the contract tests run without a phone
    (files, reports) makes the library object it talks to in one ``_open_*`` method: the seam
    those tests replace with an in-memory stand-in."""

    def __init__(self, connection: Pmd3Connection) -> None:
        self.connection = connection

    @property
    def udid(self) -> str:
        return self.connection.udid
