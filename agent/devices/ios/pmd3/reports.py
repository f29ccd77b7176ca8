"""Crash reports (CrashReportsManager) and the app's log (os_trace syslog)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymobiledevice3.services.crash_reports import CrashReportsManager
from pymobiledevice3.services.os_trace import OsTraceService

from agent.devices.ios.pmd3.background import BackgroundCollection
from agent.devices.ios.pmd3.connection import Pmd3Service
from agent.devices.ios.services.reports import (
    BoundedLines,
    CrashReportRef,
    LogLine,
    decode_report,
    is_crash_report,
    is_newer,
)


class Pmd3Reports(Pmd3Service):
    """:class:`~agent.devices.ios.services.reports.DeviceReports` over CrashReportsManager and
    os_trace."""

    def _open_crash_reports(self) -> Any:
        """The CrashReporter folder (use with ``async with``)."""
        return CrashReportsManager(self.connection.lockdown)

    def crash_reports(self, since: datetime | None = None) -> list[CrashReportRef]:
        async def go() -> list[CrashReportRef]:
            async with self._open_crash_reports() as reports:
                await reports.flush()
                paths = [p for p in await reports.ls("/", depth=1) if is_crash_report(p)]
                refs = []
                for path in paths:
                    modified = None
                    if since is not None:  # one stat per file: only when asked
                        modified = (await reports.afc.stat(path)).get("st_mtime")
                        if not is_newer(modified, since):
                            continue
                    refs.append(CrashReportRef(path, modified))
            return refs

        return self.connection.call(go, "listing crash reports")

    def read_crash_report(self, path: str) -> str:
        async def go() -> str:
            async with self._open_crash_reports() as reports:
                data: bytes = await reports.afc.get_file_contents(path)
            return decode_report(data)

        return self.connection.call(go, f"reading {path}")

    def stream_log(
        self, pid: int, on_line: Callable[[LogLine], None] | None = None
    ) -> BackgroundCollection[LogLine]:
        """Stream the app's os_log lines. ``on_line`` runs on the session loop: it must not call
        back into the session."""
        lines = BoundedLines(limit=500)

        async def go() -> None:
            async with OsTraceService(lockdown=self.connection.lockdown) as trace:
                async for entry in trace.syslog(pid=pid):
                    line = LogLine(entry.pid, entry.message, entry.timestamp)
                    lines.add(line)
                    if on_line is not None:
                        on_line(line)

        future = self.connection.spawn(go, "streaming the log")
        return BackgroundCollection(lines.lines, future)
