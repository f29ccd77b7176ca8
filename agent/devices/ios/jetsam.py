"""Tell an out-of-memory kill from a crash, from the device's diagnostic reports.

Modern reports are ``.ips`` files: one line of JSON header (``bug_type``, ``timestamp``,
``os_version``…) followed by a JSON body. ``bug_type`` 298 is a JetsamEvent: the body lists every
process with its resident pages; the ones jetsam killed carry a ``reason`` (``per-process-limit``
when the app crossed its own limit; ``vm-pageshortage``, ``highwater``… under system pressure).
``bug_type`` 309 is a crash: ``pid``, ``procName``, ``exception`` and ``termination``. Older
devices write the text crash format (``Process: Name [pid]``, ``Exception Type:``), which is
parsed too. pymobiledevice3 has no jetsam parser (its ``CrashReportBase.name`` is None for them),
so this module works on the raw text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

JETSAM_BUG_TYPE = "298"
CRASH_BUG_TYPES = frozenset({"309", "109"})
MEMORY_REASONS_OWN_LIMIT = frozenset({"per-process-limit", "highwater"})


@dataclass(frozen=True)
class JetsamProcess:
    name: str
    pid: int
    reason: str | None
    """Set only on processes jetsam killed."""
    rpages: int | None = None
    lifetime_max_pages: int | None = None
    states: tuple[str, ...] = ()


@dataclass(frozen=True)
class JetsamEvent:
    timestamp: str | None
    product: str | None
    largest_process: str | None
    page_size: int
    processes: tuple[JetsamProcess, ...]

    def killed(self, pid: int) -> JetsamProcess | None:
        """The entry for ``pid`` if jetsam killed it in this event."""
        for process in self.processes:
            if process.pid == pid and process.reason:
                return process
        return None

    def footprint_bytes(self, process: JetsamProcess) -> int | None:
        pages = process.lifetime_max_pages or process.rpages
        return pages * self.page_size if pages else None


@dataclass(frozen=True)
class CrashReport:
    process_name: str | None
    pid: int | None
    bundle_id: str | None
    exception_type: str | None
    signal: str | None
    termination: str | None
    memory_kill: bool
    """An ``EXC_RESOURCE``/``MEMORY`` or a ``JETSAM`` termination: an OOM written as a crash."""

    def summary(self) -> str:
        parts = [p for p in (self.exception_type, self.signal, self.termination) if p]
        return ", ".join(parts) or "no exception recorded"


class ExitKind(StrEnum):
    OOM_KILLED = "oom_killed"
    CRASHED = "crashed"
    UNKNOWN = "unknown"
    """No report mentions the process."""


@dataclass(frozen=True)
class ExitDiagnosis:
    kind: ExitKind
    detail: str
    footprint_bytes: int | None = None
    report_path: str | None = None


def split_ips(text: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The (header, body) of an ``.ips`` report, or None when the text is not one."""
    head, _, rest = text.lstrip("\ufeff").partition("\n")
    try:
        header = json.loads(head)
        body = json.loads(rest) if rest.strip() else {}
    except json.JSONDecodeError:
        return None
    if not isinstance(header, dict) or not isinstance(body, dict):
        return None
    return header, body


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def parse_jetsam_event(text: str) -> JetsamEvent | None:
    """A JetsamEvent report, or None when the text is something else."""
    parts = split_ips(text)
    if parts is None:
        return None
    header, body = parts
    if str(header.get("bug_type")) != JETSAM_BUG_TYPE and "processes" not in body:
        return None
    memory_status = _dict(body.get("memoryStatus"))
    # iOS 15+ moved pageSize under memoryStatus; older reports have it at the top level.
    page_size = _int(memory_status.get("pageSize")) or _int(body.get("pageSize")) or 16384
    processes = []
    for entry in body.get("processes") or ():
        if not isinstance(entry, dict) or _int(entry.get("pid")) is None:
            continue
        processes.append(
            JetsamProcess(
                name=str(entry.get("name", "")),
                pid=int(entry["pid"]),
                reason=entry.get("reason") or None,
                rpages=_int(entry.get("rpages")),
                lifetime_max_pages=_int(entry.get("lifetimeMax")),
                states=tuple(str(s) for s in entry.get("states") or ()),
            )
        )
    return JetsamEvent(
        timestamp=header.get("timestamp") or body.get("date"),
        product=body.get("product"),
        largest_process=body.get("largestProcess"),
        page_size=page_size,
        processes=tuple(processes),
    )


_TEXT_PROCESS = re.compile(r"^Process:\s+(.+?)\s+\[(\d+)\]", re.MULTILINE)
_TEXT_FIELD = r"^{}:\s+(.+)$"


def _text_field(text: str, name: str) -> str | None:
    match = re.search(_TEXT_FIELD.format(re.escape(name)), text, re.MULTILINE)
    return match.group(1).strip() if match else None


def parse_crash_report(text: str) -> CrashReport | None:
    """A crash report in the ``.ips`` (309) or legacy text format, or None."""
    parts = split_ips(text)
    if parts is not None:
        header, body = parts
        if str(header.get("bug_type")) not in CRASH_BUG_TYPES:
            return None
        exception = _dict(body.get("exception"))
        termination = _dict(body.get("termination"))
        exc_type = exception.get("type")
        subtype = str(exception.get("subtype", ""))
        namespace = str(termination.get("namespace", ""))
        term_text = " ".join(
            str(x) for x in (namespace, termination.get("indicator") or "") if x
        ).strip()
        bundle = _dict(body.get("bundleInfo"))
        return CrashReport(
            process_name=body.get("procName") or header.get("app_name") or header.get("name"),
            pid=_int(body.get("pid")),
            bundle_id=bundle.get("CFBundleIdentifier") or header.get("bundleID"),
            exception_type=exc_type,
            signal=exception.get("signal"),
            termination=term_text or None,
            memory_kill=(exc_type == "EXC_RESOURCE" and "MEMORY" in subtype.upper())
            or namespace.upper() == "JETSAM",
        )
    return _parse_text_crash(text)


def _parse_text_crash(text: str) -> CrashReport | None:
    """The legacy text format: ``Process: Name [pid]``, ``Exception Type: EXC_X (SIGY)``."""
    match = _TEXT_PROCESS.search(text)
    if match is None:
        return None
    exc_type = _text_field(text, "Exception Type")
    termination = _text_field(text, "Termination Reason")
    signal = None
    if exc_type and "(" in exc_type:
        exc_type, _, rest = exc_type.partition("(")
        exc_type, signal = exc_type.strip(), rest.rstrip(")").strip()
    memory_kill = bool(
        (exc_type == "EXC_RESOURCE" and "MEMORY" in (_text_field(text, "Exception Subtype") or ""))
        or (termination and "JETSAM" in termination.upper())
    )
    return CrashReport(
        process_name=match.group(1),
        pid=int(match.group(2)),
        bundle_id=_text_field(text, "Identifier"),
        exception_type=exc_type,
        signal=signal,
        termination=termination,
        memory_kill=memory_kill,
    )


def diagnose_exit(pid: int, reports: list[tuple[str, str]]) -> ExitDiagnosis:
    """Why process ``pid`` died, from ``(path, text)`` reports written since it was launched.

    A jetsam event that killed the pid wins over a crash report (a memory kill can leave both).
    """
    crash: tuple[str, CrashReport] | None = None
    for path, text in reports:
        event = parse_jetsam_event(text)
        if event is not None:
            killed = event.killed(pid)
            if killed is not None:
                footprint = event.footprint_bytes(killed)
                own = (
                    "its own memory limit"
                    if killed.reason in MEMORY_REASONS_OWN_LIMIT
                    else ("system memory pressure")
                )
                detail = f"killed by jetsam ({killed.reason}: {own})"
                if footprint:
                    detail += f" at {footprint / 2**20:.0f} MiB"
                return ExitDiagnosis(ExitKind.OOM_KILLED, detail, footprint, path)
            continue
        report = parse_crash_report(text)
        if report is not None and report.pid == pid and crash is None:
            crash = (path, report)
    if crash is not None:
        path, report = crash
        if report.memory_kill:
            return ExitDiagnosis(
                ExitKind.OOM_KILLED, f"memory limit exceeded ({report.summary()})", None, path
            )
        return ExitDiagnosis(ExitKind.CRASHED, f"crashed: {report.summary()}", None, path)
    return ExitDiagnosis(ExitKind.UNKNOWN, "exited without a sentinel and left no report")
