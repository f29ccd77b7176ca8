"""Quarantine: a device that fails N runs in a row for infrastructure reasons stops taking runs
until a device check passes. Plain logic, no I/O, so the agent and its tests share it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class QuarantinePolicy:
    """Counts consecutive infrastructure failures of one device.

    Model failures (OOM, crash, parity) say nothing about the device and reset nothing either:
    only a completed run or a passing check proves the device healthy again.
    """

    threshold: int = 3
    consecutive_failures: int = 0
    quarantined: bool = False
    last_reason: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_infrastructure_failure(self, reason: str) -> bool:
        """Count one failure; returns True when this one put the device in quarantine."""
        with self._lock:
            self.consecutive_failures += 1
            self.last_reason = reason
            if not self.quarantined and self.consecutive_failures >= self.threshold:
                self.quarantined = True
                return True
            return False

    def record_success(self) -> None:
        """A run reached the app and came back (whatever the model did)."""
        with self._lock:
            self.consecutive_failures = 0

    def record_check(self, passed: bool) -> None:
        """A device check ran; only a passing one lifts the quarantine."""
        with self._lock:
            if passed:
                self.quarantined = False
                self.consecutive_failures = 0
                self.last_reason = None

    def describe(self) -> str:
        if not self.quarantined:
            return f"healthy ({self.consecutive_failures} infrastructure failures in a row)"
        return (
            f"quarantined after {self.consecutive_failures} infrastructure failures in a row"
            f" (last: {self.last_reason}); the agent serves it again once its device check"
            " passes (`pomar devices --check` on the agent's host shows what is missing)"
        )
