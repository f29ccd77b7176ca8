"""One health check's answer (``pomar doctor``): pass, fail with the fix, or skip saying why.

Both sides produce them: the coordinator side checks broker, store, artifacts and heartbeats
(``orchestrator.doctor``), a device host checks Xcode, the harness app and the tunnel daemon
(``agent.host_checks``).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class HealthStatus(StrEnum):
    PASSED = "pass"
    FAILED = "fail"
    SKIPPED = "skip"


class HealthCheck(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    status: HealthStatus
    detail: str
    """What was found (or, for a skip, why it does not apply here)."""
    fix: str | None = None
    """For a failure: what to do about it."""

    def line(self) -> str:
        text = f"{self.status.value:4}  {self.name}: {self.detail}"
        return f"{text}\n      fix: {self.fix}" if self.fix else text


def passed(name: str, detail: str) -> HealthCheck:
    return HealthCheck(name=name, status=HealthStatus.PASSED, detail=detail)


def failed(name: str, detail: str, fix: str) -> HealthCheck:
    return HealthCheck(name=name, status=HealthStatus.FAILED, detail=detail, fix=fix)


def skipped(name: str, why: str) -> HealthCheck:
    return HealthCheck(name=name, status=HealthStatus.SKIPPED, detail=f"skipped: {why}")


def redact_url(url: str) -> str:
    """``url`` without its credentials, for messages."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return url
