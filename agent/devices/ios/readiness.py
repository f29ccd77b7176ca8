"""``pomar devices --check``: per device, what stands between it and a run, and the command
that fixes each problem."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agent.devices.ios.config import IosConfig
from agent.devices.ios.services.apps import AppInstaller
from agent.devices.ios.services.status import FactsReader, ReadinessProbe
from agent.devices.ios.transport import DeviceTransport
from pomar_core.errors import DeviceError

PMD3 = "python -m pymobiledevice3"


@dataclass(frozen=True)
class CheckProblem:
    what: str
    """``connection``, ``trust``, ``unlocked``, ``developer_mode``, ``disk_image``, ``tunnel``,
    ``app`` or ``storage``."""
    detail: str
    fix: str
    """A command or a setting that fixes it."""


@dataclass(frozen=True)
class DeviceCheck:
    udid: str
    marketing_name: str | None = None
    product_type: str | None = None
    ios_version: str | None = None
    app_version: str | None = None
    problems: tuple[CheckProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        """Human-readable lines for the CLI."""
        name = " ".join(
            p for p in (self.marketing_name, self.ios_version and f"iOS {self.ios_version}") if p
        )
        head = f"{self.udid} {name}: {'ready' if self.ok else 'NOT READY'}"
        return [head] + [f"  - {p.what}: {p.detail}\n    fix: {p.fix}" for p in self.problems]


class CheckedServices(FactsReader, ReadinessProbe, AppInstaller, Protocol):
    """What a device check needs of a session: facts, readiness, and installing the app."""


def check_session(
    session: CheckedServices, config: IosConfig, *, install: bool = False
) -> DeviceCheck:
    """Check one open device. With ``install``, (re)install the harness app when its version
    differs from ``config.app_version``."""
    udid = session.udid
    try:
        facts = session.facts()
    except DeviceError as exc:
        return DeviceCheck(
            udid, problems=(CheckProblem("connection", exc.one_line(), _fix_for(exc)),)
        )
    problems: list[CheckProblem] = []
    try:
        if install and config.app_path is not None and config.app_version is not None:
            session.install_app_if_version_differs(
                config.app_path, config.bundle_id, config.app_version
            )
        ready = session.readiness(config.bundle_id)
    except DeviceError as exc:
        problems.append(CheckProblem("connection", exc.one_line(), _fix_for(exc)))
        return DeviceCheck(
            udid,
            facts.marketing_name,
            facts.product_type,
            facts.ios_version,
            problems=tuple(problems),
        )
    if not ready.paired:
        problems.append(
            CheckProblem(
                "trust",
                "this host is not paired with the iPhone",
                f"unlock the iPhone, run `{PMD3} lockdown pair` and tap Trust",
            )
        )
    if ready.unlocked is False:
        problems.append(
            CheckProblem(
                "unlocked",
                "the iPhone is locked",
                "unlock it and set Settings > Display & Brightness > Auto-Lock to Never",
            )
        )
    if ready.developer_mode is False:
        problems.append(
            CheckProblem(
                "developer_mode",
                "Developer Mode is off",
                f"`{PMD3} amfi reveal-developer-mode`, then Settings > Privacy & Security > "
                "Developer Mode > On (the iPhone reboots; confirm after the reboot)",
            )
        )
    if ready.disk_image_mounted is False:
        problems.append(
            CheckProblem(
                "disk_image",
                "no developer disk image is mounted (auto-mount failed)",
                f"`{PMD3} mounter auto-mount` (needs Internet for Apple's signing server)",
            )
        )
    if ready.tunnel is False:
        problems.append(
            CheckProblem(
                "tunnel",
                "iOS 17+ needs a tunnel to reach developer services",
                f"`sudo {PMD3} remote tunneld` (or run one agent worker per device for the "
                "userspace tunnel)",
            )
        )
    if ready.app_version is None:
        problems.append(
            CheckProblem(
                "app", f"the harness app {config.bundle_id} is not installed", _install_fix(config)
            )
        )
    elif config.app_version is not None and ready.app_version != config.app_version:
        problems.append(
            CheckProblem(
                "app",
                f"harness app {ready.app_version} installed, {config.app_version} wanted",
                _install_fix(config),
            )
        )
    free = ready.free_bytes if ready.free_bytes is not None else facts.free_bytes
    if free is not None and free < config.min_free_bytes:
        problems.append(
            CheckProblem(
                "storage",
                f"{free / 1e9:.1f} GB free, {config.min_free_bytes / 1e9:.1f} GB wanted",
                "free space in Settings > General > iPhone Storage",
            )
        )
    return DeviceCheck(
        udid,
        facts.marketing_name,
        facts.product_type,
        facts.ios_version,
        ready.app_version,
        tuple(problems),
    )


def check_devices(
    transport: DeviceTransport, config: IosConfig, *, install: bool = False
) -> list[DeviceCheck]:
    """Check every attached iPhone (library function behind ``pomar devices --check``)."""
    checks = []
    for ref in transport.list_devices():
        try:
            session = transport.open(ref.udid)
        except DeviceError as exc:
            checks.append(
                DeviceCheck(
                    ref.udid, problems=(CheckProblem("connection", exc.one_line(), _fix_for(exc)),)
                )
            )
            continue
        try:
            checks.append(check_session(session, config, install=install))
        finally:
            session.close()
    return checks


def _install_fix(config: IosConfig) -> str:
    app = config.app_path or "Harness.ipa"
    return f"`pomar devices --check --install` or `{PMD3} apps install {app}`"


def _fix_for(exc: DeviceError) -> str:
    return exc.hint or "reconnect the iPhone and retry"
