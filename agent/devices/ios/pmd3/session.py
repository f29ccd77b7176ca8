"""One iPhone over pymobiledevice3: the ``DeviceSession`` verbs, synchronous outside, asyncio
inside, on the session's own event loop (see ``loop.py``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import posixpath
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from packaging.version import Version
from pymobiledevice3 import usbmux
from pymobiledevice3.exceptions import (
    AfcFileNotFoundError,
    AlreadyMountedError,
    GetProhibitedError,
    MissingValueError,
)
from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.services.crash_reports import CrashReportsManager
from pymobiledevice3.services.diagnostics import DiagnosticsService
from pymobiledevice3.services.dvt.instruments.device_info import DeviceInfo
from pymobiledevice3.services.dvt.instruments.dvt_provider import DvtProvider
from pymobiledevice3.services.dvt.instruments.process_control import ProcessControl
from pymobiledevice3.services.dvt.instruments.sysmontap import Sysmontap
from pymobiledevice3.services.house_arrest import HouseArrestService
from pymobiledevice3.services.installation_proxy import InstallationProxyService
from pymobiledevice3.services.mobile_image_mounter import (
    MobileImageMounterService,
    auto_mount,
    image_type_for_device,
)
from pymobiledevice3.services.os_trace import OsTraceService

from agent.devices.ios.config import IosConfig
from agent.devices.ios.pmd3.errors import CAUGHT, translate
from agent.devices.ios.pmd3.loop import LoopThread
from agent.devices.ios.pmd3.tunnel import Tunnel, open_tunnel
from agent.devices.ios.services.reports import BoundedLines, CrashReportRef, LogLine
from agent.devices.ios.services.sampling import ProcSample
from agent.devices.ios.services.status import DeviceFacts, Readiness
from pomar_core import catalog
from pomar_core.errors import DeviceError, DeviceLost, PomarError, TransientDeviceError

log = logging.getLogger(__name__)
T = TypeVar("T")

TUNNEL_MIN_VERSION = Version("17.0")
DOCUMENTS = "/Documents"
SAMPLED_ATTRIBUTES = ("pid", "physFootprint", "cpuUsage")


def _doc(path: str) -> str:
    return posixpath.join(DOCUMENTS, path.strip("/"))


class _Background:
    """A task on the session loop that collects items until stopped."""

    def __init__(self, loop: LoopThread, items: list[Any], future: concurrent.futures.Future[None]):
        self._loop = loop
        self._items = items
        self._future = future

    def _stop(self) -> list[Any]:
        self._future.cancel()
        try:
            self._future.result(timeout=5)
        except (concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
            pass
        except Exception as exc:  # a dead stream ends sampling, it does not fail the run
            log.info("background device stream ended: %s", exc)
        return list(self._items)


class Pmd3Sampler(_Background):
    def stop(self) -> list[ProcSample]:
        return self._stop()


class Pmd3LogStream(_Background):
    def stop(self) -> list[LogLine]:
        return self._stop()


class Pmd3Session:
    """A ``DeviceSession`` on a real iPhone. Open with :meth:`open`; close when done."""

    def __init__(self, udid: str, config: IosConfig, loop: LoopThread, lockdown: Any) -> None:
        self._udid = udid
        self.config = config
        self._loop = loop
        self._lockdown = lockdown
        self._tunnel: Tunnel | None = None
        self._dvt_stack: AsyncExitStack | None = None
        self._process_control: Any = None
        self._device_info: Any = None

    @classmethod
    def open(cls, udid: str, config: IosConfig) -> Pmd3Session:
        loop = LoopThread(f"pmd3-{udid[-8:]}")

        async def connect() -> Any:
            # autopair=False: probing must never pop a Trust dialog and wait for a human.
            return await create_using_usbmux(serial=udid, autopair=False)

        try:
            lockdown = loop.run(_guarded(connect, udid, "connecting to lockdownd"), 30)
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
    def udid(self) -> str:
        return self._udid

    @property
    def ios_version(self) -> Version:
        return Version(str(self._lockdown.product_version))

    # -- plumbing ---------------------------------------------------------------------------

    def _call(
        self, make: Callable[[], Awaitable[T]], doing: str, timeout: float | None = None
    ) -> T:
        try:
            return self._loop.run(self._guard(make, doing), timeout or self.config.call_timeout_s)
        except TimeoutError as exc:
            raise TransientDeviceError(
                f"{doing}: no answer within {timeout or self.config.call_timeout_s:g} s",
                hint="retry; if it persists, reboot the iPhone",
                device_udid=self._udid,
            ) from exc

    async def _guard(self, make: Callable[[], Awaitable[T]], doing: str) -> T:
        try:
            return await _guarded(make, self._udid, doing)
        except DeviceLost:
            await self._reset_developer()
            if await self._still_attached():
                raise TransientDeviceError(
                    f"{doing}: the connection dropped but the iPhone is still attached",
                    device_udid=self._udid,
                ) from None
            raise
        except DeviceError:
            await self._reset_developer()
            raise

    async def _still_attached(self) -> bool:
        try:
            return any(d.matches_udid(self._udid) for d in await usbmux.list_devices())
        except CAUGHT:
            return False

    async def _developer_provider(self) -> Any:
        """Lockdown below iOS 17; the tunnel's RSD from 17 on (one per session)."""
        if self.ios_version < TUNNEL_MIN_VERSION:
            return self._lockdown
        if self._tunnel is None:
            self._tunnel = await open_tunnel(
                self._udid, self.config.tunnel, self.config.tunneld_address
            )
        return self._tunnel.rsd

    async def _dvt(self) -> tuple[Any, Any]:
        """(ProcessControl, DeviceInfo) on one DTX connection, reopened after a failure."""
        if self._dvt_stack is None:
            stack = AsyncExitStack()
            try:
                dvt = await stack.enter_async_context(DvtProvider(await self._developer_provider()))
                self._process_control = await stack.enter_async_context(ProcessControl(dvt))
                self._device_info = await stack.enter_async_context(DeviceInfo(dvt))
            except BaseException:
                await stack.aclose()
                raise
            self._dvt_stack = stack
        return self._process_control, self._device_info

    async def _reset_developer(self) -> None:
        stack, self._dvt_stack = self._dvt_stack, None
        if stack is not None:
            try:
                await stack.aclose()
            except CAUGHT as exc:
                log.debug("closing DVT on %s: %s", self._udid, exc)

    # -- facts and readiness --------------------------------------------------------------------

    def facts(self) -> DeviceFacts:
        async def go() -> DeviceFacts:
            ld = self._lockdown
            values = ld.all_values or await ld.get_value()
            product_type = str(values.get("ProductType", ld.product_type or "unknown"))
            model = catalog.lookup_iphone(product_type)
            developer_mode = await ld.get_developer_mode_status() if ld.has_developer_mode else None
            battery = await self._battery()
            return DeviceFacts(
                udid=self._udid,
                product_type=product_type,
                ios_version=str(ld.product_version),
                marketing_name=model.marketing_name if model else (ld.display_name or product_type),
                chip=model.chip if model else None,
                ram_bytes=model.ram_bytes if model else None,
                app_memory_limit_bytes=model.app_memory_limit_bytes if model else None,
                device_name=values.get("DeviceName"),
                developer_mode=developer_mode,
                battery_level=battery[0],
                battery_temperature_c=battery[1],
                free_bytes=await self._free_bytes(),
            )

        return self._call(go, "reading device facts", 60)

    async def _battery(self) -> tuple[float | None, float | None]:
        try:
            async with DiagnosticsService(lockdown=self._lockdown) as diagnostics:
                info = await diagnostics.get_battery() or {}
        except CAUGHT as exc:  # battery is informative; a device without it still runs
            log.debug("battery of %s: %s", self._udid, exc)
            return None, None
        level = info.get("CurrentCapacity")
        temperature = info.get("Temperature")
        return (
            float(level) / 100 if level is not None else None,
            # UNVERIFIED units. pymobiledevice3 11.45.0 passes IOPMPowerSource through untouched
            # (services/diagnostics.py DiagnosticsService.get_battery -> ioregistry(ioclass=
            # "IOPMPowerSource"); cli/diagnostics/battery.py prints the raw "Temperature"), so
            # the library does not say. Hundredths of a degree Celsius is what macOS's
            # AppleSmartBattery uses (3055 = 30.55 °C); informational only, never a gate.
            float(temperature) / 100 if temperature is not None else None,
        )

    async def _free_bytes(self) -> int | None:
        # UNVERIFIED key: pymobiledevice3 11.45.0 never reads the com.apple.disk_usage domain
        # (the name comes from libimobiledevice's `ideviceinfo -q com.apple.disk_usage`).
        # VERIFIED failure modes (lockdown.py LockdownClient.get_value and
        # _verify_request_response): an absent value returns None or raises MissingValueError,
        # a refused domain raises GetProhibitedError; free space is informational, so neither
        # may fail facts() or readiness().
        try:
            value = await self._lockdown.get_value(
                domain="com.apple.disk_usage", key="AmountDataAvailable"
            )
        except (MissingValueError, GetProhibitedError):
            return None
        return int(value) if value is not None else None

    def readiness(self, bundle_id: str) -> Readiness:
        async def go() -> Readiness:
            ld = self._lockdown
            notes = ["the lock state cannot be read over lockdown; a locked iPhone fails at launch"]
            developer_mode = await ld.get_developer_mode_status() if ld.has_developer_mode else None
            tunnel: bool | None = None
            mounted: bool | None = None
            if developer_mode is not False:
                try:
                    provider = await self._developer_provider()
                    tunnel = True if self.ios_version >= TUNNEL_MIN_VERSION else None
                    mounted = await self._ensure_disk_image(provider)
                except PomarError as exc:
                    notes.append(exc.one_line())
                    tunnel = False
                except CAUGHT as exc:
                    error = translate(exc, self._udid, "opening developer services")
                    notes.append(error.one_line())
                    if self.ios_version >= TUNNEL_MIN_VERSION and self._tunnel is None:
                        tunnel = False
                    else:
                        mounted = False
            return Readiness(
                paired=bool(ld.paired),
                unlocked=None,
                developer_mode=developer_mode,
                disk_image_mounted=mounted,
                tunnel=tunnel,
                app_version=await self._app_version(bundle_id),
                free_bytes=await self._free_bytes(),
                notes=tuple(notes),
            )

        return self._call(go, "checking readiness", 300)

    async def _ensure_disk_image(self, provider: Any) -> bool:
        async with MobileImageMounterService(lockdown=provider) as mounter:
            if await mounter.is_image_mounted(image_type_for_device(provider)):
                return True
        # Downloads the image and asks Apple's signing server (TSS) on iOS 17+.
        with contextlib.suppress(AlreadyMountedError):
            await auto_mount(provider)
        return True

    async def _app_version(self, bundle_id: str) -> str | None:
        async with InstallationProxyService(lockdown=self._lockdown) as proxy:
            apps = await proxy.get_apps(application_type="User", bundle_identifiers=[bundle_id])
        info = apps.get(bundle_id)
        return str(info.get("CFBundleShortVersionString")) if info else None

    def install_app_if_version_differs(self, app_path: Path, bundle_id: str, version: str) -> bool:
        async def go() -> bool:
            if await self._app_version(bundle_id) == version:
                return False
            async with InstallationProxyService(lockdown=self._lockdown) as proxy:
                await proxy.install_from_local(app_path)
            return True

        return self._call(go, f"installing {app_path.name}", 600)

    # -- files in the app's Documents (house_arrest, VendDocuments) -----------------------------

    async def _documents(self, bundle_id: str) -> HouseArrestService:
        # VendDocuments works for any app with UIFileSharingEnabled; one vend per connection.
        return await HouseArrestService.create(self._lockdown, bundle_id, documents_only=True)

    def write_files(self, bundle_id: str, files: Mapping[str, bytes]) -> int:
        async def go() -> int:
            async with await self._documents(bundle_id) as afc:
                made: set[str] = set()
                for path, data in files.items():
                    parent = posixpath.dirname(_doc(path))
                    if parent not in made:
                        await afc.makedirs(parent)
                        made.add(parent)
                    await afc.set_file_contents(_doc(path), data)
            return sum(len(d) for d in files.values())

        return self._call(go, "writing job files")

    def push_tree(self, bundle_id: str, local: Path, remote: str) -> int:
        paths = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())

        async def go() -> int:
            total = 0
            async with await self._documents(bundle_id) as afc:
                made: set[str] = set()
                for path in paths:
                    rel = "" if path == local else path.relative_to(local).as_posix()
                    target = _doc(posixpath.join(remote, rel) if rel else remote)
                    parent = posixpath.dirname(target)
                    if parent not in made:
                        await afc.makedirs(parent)
                        made.add(parent)
                    data = path.read_bytes()
                    await afc.set_file_contents(target, data)
                    total += len(data)
            return total

        return self._call(go, f"pushing {local.name}", 1800)

    def read_file(self, bundle_id: str, path: str) -> bytes | None:
        async def go() -> bytes | None:
            async with await self._documents(bundle_id) as afc:
                try:
                    data: bytes = await afc.get_file_contents(_doc(path))
                except AfcFileNotFoundError:
                    return None
            return data

        return self._call(go, f"reading {path}")

    def list_dir(self, bundle_id: str, path: str) -> list[str]:
        async def go() -> list[str]:
            async with await self._documents(bundle_id) as afc:
                try:
                    names: list[str] = await afc.listdir(_doc(path))
                except AfcFileNotFoundError:
                    return []
            return names

        return self._call(go, f"listing {path}")

    def remove(self, bundle_id: str, path: str) -> None:
        async def go() -> None:
            async with await self._documents(bundle_id) as afc:
                await afc.rm(_doc(path), force=True)

        self._call(go, f"removing {path}")

    # -- processes (DVT) ------------------------------------------------------------------------

    def launch(self, bundle_id: str, arguments: list[str]) -> int:
        async def go() -> int:
            process_control, _ = await self._dvt()
            pid: int = await process_control.launch(
                bundle_id, arguments=arguments, kill_existing=True
            )
            return pid

        return self._call(go, f"launching {bundle_id}", 60)

    def kill(self, pid: int) -> None:
        async def go() -> None:
            process_control, _ = await self._dvt()
            await process_control.kill(pid)

        self._call(go, f"killing {pid}", 30)

    def is_running(self, pid: int) -> bool:
        async def go() -> bool:
            _, device_info = await self._dvt()
            return bool(await device_info.is_running_pid(pid))

        return self._call(go, f"polling {pid}", 30)

    def start_sampling(self, pid: int, interval_ms: int) -> Pmd3Sampler:
        samples: list[ProcSample] = []
        started = time.monotonic()

        async def go() -> None:
            # A DTX connection of its own, so sampling never blocks launch/kill/poll.
            async with DvtProvider(await self._developer_provider()) as dvt:
                async with DeviceInfo(dvt) as device_info:
                    supported = set(await device_info.sysmon_process_attributes())
                    system = list(await device_info.sysmon_system_attributes())
                # VERIFIED row layout (services/dvt/instruments/sysmontap.py): Sysmontap builds a
                # dataclass from the process attributes we request, in our order, and
                # iter_processes() yields, per sample row that has "Processes", one dict per
                # process keyed by exactly those names (values mapped by position, as the
                # device returns them). So "pid"/"physFootprint"/"cpuUsage" are the keys; units
                # (bytes, percent of a core) are the device's and not stated in the library.
                wanted = [a for a in SAMPLED_ATTRIBUTES if a in supported]
                async with Sysmontap(dvt, wanted, system, interval_ms=interval_ms) as tap:
                    first = True
                    async for processes in tap.iter_processes():
                        for process in processes:
                            if process.get("pid") == pid and process.get("physFootprint"):
                                cpu = process.get("cpuUsage")
                                samples.append(
                                    ProcSample(
                                        time.monotonic() - started,
                                        int(process["physFootprint"]),
                                        # sysmontap's first cpuUsage is meaningless
                                        None if first or cpu is None else float(cpu),
                                    )
                                )
                                first = False

        future = self._loop.spawn(_guarded(go, self._udid, "sampling memory"))
        return Pmd3Sampler(self._loop, samples, future)

    def stream_log(
        self, pid: int, on_line: Callable[[LogLine], None] | None = None
    ) -> Pmd3LogStream:
        """Stream the app's os_log lines. ``on_line`` runs on the session loop: it must not call
        back into the session."""
        lines = BoundedLines(limit=500)

        async def go() -> None:
            async with OsTraceService(lockdown=self._lockdown) as trace:
                async for entry in trace.syslog(pid=pid):
                    line = LogLine(entry.pid, entry.message, entry.timestamp)
                    lines.add(line)
                    if on_line is not None:
                        on_line(line)

        future = self._loop.spawn(_guarded(go, self._udid, "streaming the log"))
        return Pmd3LogStream(self._loop, lines.lines, future)

    # -- crash reports --------------------------------------------------------------------------

    def crash_reports(self, since: datetime | None = None) -> list[CrashReportRef]:
        async def go() -> list[CrashReportRef]:
            async with CrashReportsManager(self._lockdown) as reports:
                await reports.flush()
                paths = [
                    p for p in await reports.ls("/", depth=1) if p.endswith((".ips", ".crash"))
                ]
                refs = []
                for path in paths:
                    modified = None
                    if since is not None:  # one stat per file: only when asked
                        modified = (await reports.afc.stat(path)).get("st_mtime")
                        if modified is not None and modified < since:
                            continue
                    refs.append(CrashReportRef(path, modified))
            return refs

        return self._call(go, "listing crash reports")

    def read_crash_report(self, path: str) -> str:
        async def go() -> str:
            async with CrashReportsManager(self._lockdown) as reports:
                data: bytes = await reports.afc.get_file_contents(path)
            return data.decode("utf-8", errors="replace")

        return self._call(go, f"reading {path}")

    def close(self) -> None:
        async def go() -> None:
            await self._reset_developer()
            if self._tunnel is not None:
                tunnel, self._tunnel = self._tunnel, None
                await tunnel.close()
            await self._lockdown.close()

        try:
            self._loop.run(_guarded(go, self._udid, "closing"), 15)
        except (DeviceError, TimeoutError) as exc:
            log.info("closing %s: %s", self._udid, exc)
        finally:
            self._loop.close()


async def _guarded(make: Callable[[], Awaitable[T]], udid: str | None, doing: str) -> T:
    """Await ``make()`` and translate every library exception at this one boundary."""
    try:
        return await make()
    except PomarError:
        raise
    except asyncio.CancelledError:
        raise
    except CAUGHT as exc:
        raise translate(exc, udid, doing) from exc
