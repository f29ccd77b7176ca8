"""The iPhones attached to this host, as devices the agent can serve right now.

Called on every discovery pass of ``pomar agent`` (``agent.devices.ios.backend.ios_source``).
A phone is served only while its device check passes: one that attaches locked, untrusted,
without Developer Mode or without the harness app is held back, and so is one the quarantine policy
took out after repeated infrastructure failures. Held phones are checked again every
``recheck_s`` and served as soon as a check passes; each change is logged once, with the fix.
:meth:`AttachedIphones.held` lists them with the reason, so the agent keeps heartbeating them
as ``quarantined`` (present, taking no runs) rather than letting them look lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.device import Device
from agent.devices.ios.config import IosConfig
from agent.devices.ios.device import IosDevice
from agent.devices.ios.transport import DeviceTransport
from pomar_core.errors import DeviceError

log = logging.getLogger(__name__)


@dataclass
class _Phone:
    """One attached phone: its device once opened, whether it is served, and why not."""

    device: IosDevice | None = None
    served: bool = False
    next_check_at: float = 0.0
    reason: str | None = None


class AttachedIphones:
    """A device source over a :class:`DeviceTransport` (usbmuxd, or the fake)."""

    def __init__(
        self,
        transport: DeviceTransport,
        config: IosConfig,
        *,
        recheck_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.config = config
        self.recheck_s = recheck_s
        self._clock = clock
        self._phones: dict[str, _Phone] = {}
        self._listed_once = False

    def __call__(self) -> list[Device]:
        """The phones to serve now. Raises ``DeviceError`` only when usbmuxd has never
        answered; later outages keep serving what was served (a usbmuxd restart must not
        stop runs that may still complete)."""
        try:
            refs = self.transport.list_devices()
        except DeviceError as exc:
            if not self._listed_once:
                raise
            log.warning("listing iPhones failed, keeping the ones served: %s", exc.one_line())
            return self._served()
        self._listed_once = True
        present = {ref.udid for ref in refs}
        for udid in [u for u in self._phones if u not in present]:
            self._detach(udid)
        now = self._clock()
        for udid in sorted(present):
            phone = self._phones.setdefault(udid, _Phone())
            if phone.device is not None and phone.device.quarantine.quarantined and phone.served:
                phone.served = False
                phone.next_check_at = now + self.recheck_s
                self._held(udid, phone, phone.device.quarantine.describe())
            if not phone.served and now >= phone.next_check_at:
                self._check(udid, phone, now)
        return self._served()

    def held(self) -> list[tuple[Device, str]]:
        """Phones attached and opened but not served now, each with why (from the last
        discovery pass). A phone that could not even be opened has no facts to report."""
        return [
            (p.device, _why(p.device, p.reason))
            for p in self._phones.values()
            if not p.served and p.device is not None
        ]

    def close(self) -> None:
        """Close every session (the agent is stopping)."""
        for udid in list(self._phones):
            self._detach(udid, quiet=True)

    def _check(self, udid: str, phone: _Phone, now: float) -> None:
        phone.next_check_at = now + self.recheck_s
        try:
            if phone.device is None:
                phone.device = IosDevice(self.transport.open(udid), self.config)
            phone.device.check_ready()  # installs the harness when its version differs
        except DeviceError as exc:
            self._held(udid, phone, exc.one_line())
            return
        phone.served, phone.reason = True, None
        info = phone.device.info
        log.warning("iPhone %s (%s, iOS %s) is ready", udid, info.marketing_name, info.os_version)

    def _held(self, udid: str, phone: _Phone, reason: str) -> None:
        if reason != phone.reason:
            log.warning("iPhone %s not served: %s", udid, reason)
        phone.reason = reason

    def _detach(self, udid: str, *, quiet: bool = False) -> None:
        phone = self._phones.pop(udid)
        if phone.device is not None:
            try:
                phone.device.close()
            except DeviceError as exc:
                log.info("closing %s: %s", udid, exc.one_line())
        if not quiet:
            log.warning("iPhone %s detached", udid)

    def _served(self) -> list[Device]:
        return [p.device for p in self._phones.values() if p.served and p.device is not None]


def _why(device: IosDevice, reason: str | None) -> str:
    """The latest reason, still saying "quarantined" after a recheck found something else."""
    quarantine = device.quarantine
    if not quarantine.quarantined:
        return reason or "held back"
    described = quarantine.describe()
    if reason is None or reason == described:
        return described
    return f"{reason} (quarantined after {quarantine.consecutive_failures} infrastructure failures)"
