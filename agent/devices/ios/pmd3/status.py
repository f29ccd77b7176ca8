"""Facts and readiness: lockdown values, battery, free space, developer services, the app."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from pymobiledevice3.exceptions import AlreadyMountedError, GetProhibitedError, MissingValueError
from pymobiledevice3.services.diagnostics import DiagnosticsService
from pymobiledevice3.services.mobile_image_mounter import (
    MobileImageMounterService,
    auto_mount,
    image_type_for_device,
)

from agent.devices.ios.pmd3.apps import installed_version
from agent.devices.ios.pmd3.connection import Pmd3Service
from agent.devices.ios.pmd3.errors import CAUGHT, translate
from agent.devices.ios.services.status import DeviceFacts, Readiness
from pomar_core import catalog
from pomar_core.errors import PomarError

log = logging.getLogger(__name__)

LOCK_STATE_NOTE = "the lock state cannot be read over lockdown; a locked iPhone fails at launch"


def battery_reading(info: dict[str, Any]) -> tuple[float | None, float | None]:
    """(level 0..1, temperature °C) from DiagnosticsService.get_battery's IOPMPowerSource."""
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


async def free_bytes(lockdown: Any) -> int | None:
    """Free space on the device, None when lockdown will not say."""
    # UNVERIFIED key: pymobiledevice3 11.45.0 never reads the com.apple.disk_usage domain
    # (the name comes from libimobiledevice's `ideviceinfo -q com.apple.disk_usage`).
    # VERIFIED failure modes (lockdown.py LockdownClient.get_value and
    # _verify_request_response): an absent value returns None or raises MissingValueError,
    # a refused domain raises GetProhibitedError; free space is informational, so neither
    # may fail facts() or readiness().
    try:
        value = await lockdown.get_value(domain="com.apple.disk_usage", key="AmountDataAvailable")
    except (MissingValueError, GetProhibitedError):
        return None
    return int(value) if value is not None else None


async def _ensure_disk_image(provider: Any) -> bool:
    async with MobileImageMounterService(lockdown=provider) as mounter:
        if await mounter.is_image_mounted(image_type_for_device(provider)):
            return True
    # Downloads the image and asks Apple's signing server (TSS) on iOS 17+.
    with contextlib.suppress(AlreadyMountedError):
        await auto_mount(provider)
    return True


class Pmd3Status(Pmd3Service):
    """:class:`~agent.devices.ios.services.status.FactsReader` and ``ReadinessProbe``."""

    def facts(self) -> DeviceFacts:
        ld = self.connection.lockdown

        async def go() -> DeviceFacts:
            values = ld.all_values or await ld.get_value()
            product_type = str(values.get("ProductType", ld.product_type or "unknown"))
            model = catalog.lookup_iphone(product_type)
            developer_mode = await ld.get_developer_mode_status() if ld.has_developer_mode else None
            battery = await self._battery()
            return DeviceFacts(
                udid=self.udid,
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
                free_bytes=await free_bytes(ld),
            )

        return self.connection.call(go, "reading device facts", 60)

    async def _battery(self) -> tuple[float | None, float | None]:
        try:
            async with DiagnosticsService(lockdown=self.connection.lockdown) as diagnostics:
                info = await diagnostics.get_battery() or {}
        except CAUGHT as exc:  # battery is informative; a device without it still runs
            log.debug("battery of %s: %s", self.udid, exc)
            return None, None
        return battery_reading(info)

    def readiness(self, bundle_id: str) -> Readiness:
        connection = self.connection
        ld = connection.lockdown

        async def go() -> Readiness:
            notes = [LOCK_STATE_NOTE]
            developer_mode = await ld.get_developer_mode_status() if ld.has_developer_mode else None
            tunnel: bool | None = None
            mounted: bool | None = None
            if developer_mode is not False:
                try:
                    provider = await connection.developer_provider()
                    tunnel = True if connection.needs_tunnel else None
                    mounted = await _ensure_disk_image(provider)
                except PomarError as exc:
                    notes.append(exc.one_line())
                    tunnel = False
                except CAUGHT as exc:
                    error = translate(exc, self.udid, "opening developer services")
                    notes.append(error.one_line())
                    if connection.needs_tunnel and connection.tunnel is None:
                        tunnel = False
                    else:
                        mounted = False
            return Readiness(
                paired=bool(ld.paired),
                unlocked=None,
                developer_mode=developer_mode,
                disk_image_mounted=mounted,
                tunnel=tunnel,
                app_version=await installed_version(ld, bundle_id),
                free_bytes=await free_bytes(ld),
                notes=tuple(notes),
            )

        return connection.call(go, "checking readiness", 300)
