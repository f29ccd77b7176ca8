"""What a device says about its processes afterwards and meanwhile: crash reports and the log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

CRASH_REPORT_SUFFIXES = (".ips", ".crash")
"""What counts as a report in the CrashReporter folder (``.ips`` JSON, legacy ``.crash``)."""


@dataclass(frozen=True)
class CrashReportRef:
    """A file in the device's CrashReporter folder."""

    path: str
    modified: datetime | None = None


@dataclass(frozen=True)
class LogLine:
    pid: int
    message: str
    timestamp: datetime | None = None


class LogStream(Protocol):
    def stop(self) -> list[LogLine]:
        """Stop streaming and return the lines seen (bounded, newest kept)."""
        ...


class DeviceReports(Protocol):
    def crash_reports(self, since: datetime | None = None) -> list[CrashReportRef]:
        """Reports in the CrashReporter folder (flushed first), newer than ``since`` if given."""
        ...

    def read_crash_report(self, path: str) -> str: ...

    def stream_log(self, pid: int, on_line: Callable[[LogLine], None] | None = None) -> LogStream:
        """Stream the process's log lines in the background."""
        ...


def is_crash_report(path: str) -> bool:
    return path.endswith(CRASH_REPORT_SUFFIXES)


def is_newer(modified: datetime | None, since: datetime | None) -> bool:
    """Whether a report modified at ``modified`` is wanted by a listing ``since``; a report
    whose time is unknown is kept."""
    return since is None or modified is None or modified >= since


def decode_report(data: bytes) -> str:
    """A report's text; bytes that are not UTF-8 become U+FFFD rather than failing the read."""
    return data.decode("utf-8", errors="replace")


@dataclass
class BoundedLines:
    """The newest ``limit`` log lines, for error messages."""

    limit: int = 200
    lines: list[LogLine] = field(default_factory=list)

    def add(self, line: LogLine) -> None:
        self.lines.append(line)
        if len(self.lines) > self.limit:
            del self.lines[: len(self.lines) - self.limit]
