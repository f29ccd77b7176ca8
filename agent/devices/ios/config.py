"""How the agent drives iPhones: the harness app, the cache budget, polling, the tunnel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

DEFAULT_BUNDLE_ID = "org.pomar.harness"


@dataclass(frozen=True)
class IosConfig:
    """Built once at the entry point (CLI / worker) and passed down."""

    bundle_id: str = DEFAULT_BUNDLE_ID
    app_path: Path | None = None
    """The signed harness ``.ipa`` or ``.app``; None: never install, only check."""
    app_version: str | None = None
    """``CFBundleShortVersionString`` of ``app_path``; installs happen only when it differs."""
    cache_budget_bytes: int = 4 * 1024**3
    poll_interval_s: float = 0.5
    sample_interval_ms: int = 500
    exit_grace_s: float = 5.0
    """How long the app may take to exit after writing its sentinel before it is killed."""
    crash_report_wait_s: float = 10.0
    """Jetsam and crash reports appear a few seconds after the process died."""
    min_free_bytes: int = 2 * 1024**3
    quarantine_after: int = 3
    """Infrastructure failures in a row that quarantine a device."""
    tunnel: Literal["auto", "tunneld", "userspace"] = "auto"
    """iOS 17+: ``tunneld`` (root daemon, every device), ``userspace`` (no root, one per
    process), ``auto`` (tunneld when it answers, else userspace)."""
    tunneld_address: tuple[str, int] = ("127.0.0.1", 49151)
    call_timeout_s: float = 120.0
    """Upper bound on one device call (an install or a large push can take a minute)."""
