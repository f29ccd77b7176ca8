"""Installing the harness app (installation_proxy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pymobiledevice3.services.installation_proxy import InstallationProxyService

from agent.devices.ios.pmd3.connection import Pmd3Service


def version_of(apps: dict[str, Any], bundle_id: str) -> str | None:
    """``CFBundleShortVersionString`` of ``bundle_id`` in a ``get_apps`` answer, if there."""
    info = apps.get(bundle_id)
    return str(info.get("CFBundleShortVersionString")) if info else None


async def installed_version(lockdown: Any, bundle_id: str) -> str | None:
    async with InstallationProxyService(lockdown=lockdown) as proxy:
        apps = await proxy.get_apps(application_type="User", bundle_identifiers=[bundle_id])
    return version_of(apps, bundle_id)


class Pmd3Apps(Pmd3Service):
    """:class:`~agent.devices.ios.services.apps.AppInstaller` over installation_proxy."""

    def install_app_if_version_differs(self, app_path: Path, bundle_id: str, version: str) -> bool:
        lockdown = self.connection.lockdown

        async def go() -> bool:
            if await installed_version(lockdown, bundle_id) == version:
                return False
            async with InstallationProxyService(lockdown=lockdown) as proxy:
                await proxy.install_from_local(app_path)
            return True

        return self.connection.call(go, f"installing {app_path.name}", 600)
