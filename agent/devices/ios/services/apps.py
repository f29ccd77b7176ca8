"""Installing the harness app."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class AppInstaller(Protocol):
    def install_app_if_version_differs(self, app_path: Path, bundle_id: str, version: str) -> bool:
        """Install ``app_path`` (``.ipa`` or ``.app``) unless ``version`` is installed already.
        Returns True when it installed."""
        ...
