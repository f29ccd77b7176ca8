"""The signed harness app on the host: which bundle it is and which version, read from its
``Info.plist`` so installs happen only when the phone's version differs."""

from __future__ import annotations

import plistlib
import zipfile
from dataclasses import replace
from pathlib import Path

from agent.devices.ios.config import IosConfig
from pomar_core.errors import UsageError


def read_info_plist(app_path: Path) -> dict[str, object]:
    """The ``Info.plist`` of an ``.app`` folder or of the ``Payload/*.app`` inside an ``.ipa``."""
    try:
        if app_path.is_dir():
            data = (app_path / "Info.plist").read_bytes()
        else:
            with zipfile.ZipFile(app_path) as ipa:
                names = [
                    n
                    for n in ipa.namelist()
                    if n.startswith("Payload/")
                    and n.count("/") == 2
                    and n.endswith(".app/Info.plist")
                ]
                if not names:
                    raise UsageError(
                        f"{app_path} has no Payload/<name>.app/Info.plist",
                        hint="pass the .ipa (or .app) from ios_harness/scripts/build_ipa.sh",
                    )
                data = ipa.read(names[0])
        info = plistlib.loads(data)
    except (OSError, zipfile.BadZipFile, plistlib.InvalidFileException, ValueError) as exc:
        raise UsageError(
            f"cannot read the harness app {app_path}: {exc}",
            hint="pass a signed .ipa or .app built by ios_harness/scripts/build_ipa.sh",
        ) from None
    if not isinstance(info, dict):
        raise UsageError(f"{app_path}: Info.plist is not a dictionary")
    return info


def harness_config(app_path: Path | None, bundle_id: str | None = None) -> IosConfig:
    """The agent's iPhone settings from the command line: the harness to install (its bundle
    id and version read from it) or, without one, the bundle id to look for."""
    config = IosConfig() if bundle_id is None else IosConfig(bundle_id=bundle_id)
    if app_path is None:
        return config
    config = with_harness_app(config, app_path)
    if bundle_id is not None and bundle_id != config.bundle_id:
        raise UsageError(
            f"{app_path} is {config.bundle_id}, not {bundle_id}",
            hint="drop --bundle-id (the app says which it is) or pass the matching app",
        )
    return config


def with_harness_app(config: IosConfig, app_path: Path) -> IosConfig:
    """``config`` installing ``app_path``: bundle id and version come from the app itself."""
    info = read_info_plist(app_path)
    bundle_id = info.get("CFBundleIdentifier")
    version = info.get("CFBundleShortVersionString")
    if not isinstance(bundle_id, str) or not isinstance(version, str):
        raise UsageError(
            f"{app_path}: Info.plist lacks CFBundleIdentifier or CFBundleShortVersionString",
            hint="rebuild the harness with ios_harness/scripts/build_ipa.sh",
        )
    return replace(config, app_path=app_path, app_version=version, bundle_id=bundle_id)


def _is_app_info_plist(name: str) -> bool:
    # The app's own plist, not one of an embedded framework or extension.
    return name.startswith("Payload/") and name.count("/") == 2 and name.endswith(".app/Info.plist")
