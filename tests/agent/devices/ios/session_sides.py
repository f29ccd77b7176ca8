"""The two sides of the session contract (``test_session_contract.py``): the fake session, and
the real pymobiledevice3 adapter's services with the library objects they open replaced by
in-memory stand-ins that keep the library's semantics (AFC paths, errors, listing shapes).

A side is what a case needs: the services under test, and a few ways to script the phone
(take it away, uninstall the app, drop a crash report, feed footprints to the sampler).
"""

from __future__ import annotations

import itertools
import posixpath
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from pymobiledevice3.dtx import DTXNsError
from pymobiledevice3.dtx.ns_types import NSError
from pymobiledevice3.exceptions import (
    AfcException,
    AfcFileNotFoundError,
    AppNotInstalledError,
    ConnectionTerminatedError,
)

from agent.devices.ios.config import IosConfig
from agent.devices.ios.fake import FakeIPhone, FakeProcess, FakeSampler, FakeSession
from agent.devices.ios.pmd3.connection import Pmd3Connection
from agent.devices.ios.pmd3.files import Pmd3Files
from agent.devices.ios.pmd3.loop import LoopThread
from agent.devices.ios.pmd3.processes import Pmd3Processes
from agent.devices.ios.pmd3.reports import Pmd3Reports
from agent.devices.ios.pmd3.sampling import SysmonSamples
from agent.devices.ios.services.files import AppFiles
from agent.devices.ios.services.processes import AppProcesses
from agent.devices.ios.services.reports import DeviceReports
from agent.devices.ios.services.sampling import ProcSample

UDID = "00008110-CONTRACT0001"
BUNDLE = "org.pomar.harness"
AFC_NOT_FOUND = 8  # AfcError.OBJECT_NOT_FOUND
AFC_INVALID_ARG = 7  # AfcError.INVALID_ARG


class Side(Protocol):
    files: AppFiles
    processes: AppProcesses
    reports: DeviceReports

    def lose_phone(self) -> None: ...

    def lock_phone(self) -> None: ...

    def uninstall_app(self) -> None: ...

    def add_crash_report(self, name: str, text: str, modified: datetime) -> None: ...

    def samples_of(self, pid: int, footprints: list[int]) -> list[ProcSample]:
        """What sampling ``pid`` reports while its footprint goes through ``footprints``."""
        ...

    def close(self) -> None: ...


# -- the fake --------------------------------------------------------------------------------


class FakeSide:
    def __init__(self) -> None:
        self.phone = FakeIPhone(UDID)
        session = FakeSession(self.phone)
        self.files: AppFiles = session
        self.processes: AppProcesses = session
        self.reports: DeviceReports = session

    def lose_phone(self) -> None:
        self.phone.disconnect()

    def lock_phone(self) -> None:
        self.phone.scenario = replace(self.phone.scenario, locked=True)

    def uninstall_app(self) -> None:
        self.phone.installed_version = None

    def add_crash_report(self, name: str, text: str, modified: datetime) -> None:
        self.phone.crash_reports[f"/{name}"] = (text, modified)

    def samples_of(self, pid: int, footprints: list[int]) -> list[ProcSample]:
        return FakeSampler(FakeProcess(pid, BUNDLE, footprints=footprints), time.monotonic()).stop()

    def close(self) -> None:
        pass


# -- the real adapter over in-memory library objects -------------------------------------------


class InMemoryAfc:
    """An AFC client as pymobiledevice3's ``AfcService`` behaves: absolute paths, folders made
    by ``makedirs``, ``AfcFileNotFoundError`` for what is not there, ``rm(force=True)``
    recursive and silent, ``listdir`` without ``.``/``..``."""

    def __init__(self) -> None:
        self.folders: set[str] = {"/"}
        self.files: dict[str, tuple[bytes, datetime]] = {}

    async def __aenter__(self) -> InMemoryAfc:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def makedirs(self, filename: str) -> None:
        while filename not in self.folders:
            self.folders.add(filename)
            filename = posixpath.dirname(filename)

    async def set_file_contents(self, filename: str, data: bytes) -> None:
        if posixpath.dirname(filename) not in self.folders:
            raise AfcException(f"no folder for {filename}", AFC_NOT_FOUND, filename)
        self.files[filename] = (bytes(data), datetime.now().astimezone())

    async def get_file_contents(self, filename: str) -> bytes:
        if filename in self.folders:
            raise AfcException(f"Not a regular file: {filename}", AFC_INVALID_ARG, filename)
        if filename not in self.files:
            raise AfcFileNotFoundError(f"no {filename}", AFC_NOT_FOUND, filename)
        return self.files[filename][0]

    async def listdir(self, filename: str) -> list[str]:
        if filename not in self.folders:
            raise AfcFileNotFoundError(f"no {filename}", AFC_NOT_FOUND, filename)
        return sorted(posixpath.basename(p) for p in self._children(filename))

    async def rm(self, filename: str, force: bool = False) -> list[str]:
        if filename not in self.folders and filename not in self.files:
            if force:
                return []
            raise AfcFileNotFoundError(f"no {filename}", AFC_NOT_FOUND, filename)
        inside = filename.rstrip("/") + "/"
        self.files = {
            p: v for p, v in self.files.items() if p != filename and not p.startswith(inside)
        }
        self.folders = {p for p in self.folders if p != filename and not p.startswith(inside)}
        return []

    async def stat(self, filename: str) -> dict[str, Any]:
        if filename not in self.files:
            raise AfcFileNotFoundError(f"no {filename}", AFC_NOT_FOUND, filename)
        data, modified = self.files[filename]
        return {"st_size": len(data), "st_ifmt": "S_IFREG", "st_mtime": modified}

    def _children(self, folder: str) -> Iterator[str]:
        for path in (*self.folders, *self.files):
            if path != folder and posixpath.dirname(path) == folder:
                yield path


class InMemoryCrashReports:
    """``CrashReportsManager`` as the adapter uses it: ``flush``, ``ls('/', depth=1)`` giving
    ``/name`` paths without the root, and its ``afc``."""

    def __init__(self, afc: InMemoryAfc) -> None:
        self.afc = afc

    async def __aenter__(self) -> InMemoryCrashReports:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def flush(self) -> None:
        return None

    async def ls(self, path: str = "/", depth: int = 1) -> list[str]:
        return sorted(self.afc._children(path))


def _locked_launch_error() -> DTXNsError:
    """What FrontBoard answers a launch on a locked phone: the reason only in the underlying
    error (the shape ``test_pmd3_contract.py`` documents)."""
    underlying = NSError(
        7,
        "FBSOpenApplicationErrorDomain",
        {
            "NSLocalizedFailureReason": "Unable to launch org.pomar.harness because the device "
            "was not, or could not be, unlocked.",
            "BSErrorCodeDescription": "Locked",
        },
    )
    return DTXNsError(
        NSError(1, "FBSOpenApplicationServiceErrorDomain", {"NSUnderlyingError": underlying})
    )


class InMemoryProcessControl:
    """DVT ``ProcessControl`` and ``DeviceInfo.is_running_pid`` over a set of live pids."""

    def __init__(self, phone: _Phone) -> None:
        self._phone = phone
        self._pids = itertools.count(401)
        self.running: set[int] = set()

    async def launch(self, bundle_id: str, arguments: list[str], kill_existing: bool) -> int:
        if self._phone.locked:
            raise _locked_launch_error()
        if kill_existing:
            self.running.clear()
        pid = next(self._pids)
        self.running.add(pid)
        return pid

    async def kill(self, pid: int) -> None:
        self.running.discard(pid)

    async def is_running_pid(self, pid: int) -> bool:
        return pid in self.running


class _Phone:
    """What the stand-ins share: the app's container, the CrashReporter folder, the processes,
    and whether the phone and the app are there."""

    def __init__(self) -> None:
        self.documents = InMemoryAfc()
        self.crash_reporter = InMemoryAfc()
        self.processes = InMemoryProcessControl(self)
        self.attached = True
        self.app_installed = True
        self.locked = False

    def check(self) -> None:
        if not self.attached:
            raise ConnectionTerminatedError()


class _StandInFiles(Pmd3Files):
    phone: _Phone

    async def _open_documents(self, bundle_id: str) -> Any:
        self.phone.check()
        if not self.phone.app_installed:
            raise AppNotInstalledError(f"ApplicationLookupFailed: {bundle_id}")
        return self.phone.documents


class _StandInReports(Pmd3Reports):
    phone: _Phone

    def _open_crash_reports(self) -> Any:
        self.phone.check()
        return InMemoryCrashReports(self.phone.crash_reporter)


class _StandInConnection(Pmd3Connection):
    phone: _Phone

    async def dvt(self) -> tuple[Any, Any]:
        self.phone.check()
        return self.phone.processes, self.phone.processes


class Pmd3Side:
    def __init__(self) -> None:
        self.phone = _Phone()
        self.connection = _StandInConnection(UDID, IosConfig(), LoopThread("contract"), None)
        self.connection.phone = self.phone
        files = _StandInFiles(self.connection)
        reports = _StandInReports(self.connection)
        files.phone = reports.phone = self.phone
        self.files: AppFiles = files
        self.processes: AppProcesses = Pmd3Processes(self.connection)
        self.reports: DeviceReports = reports

    def lose_phone(self) -> None:
        self.phone.attached = False

    def lock_phone(self) -> None:
        self.phone.locked = True

    def uninstall_app(self) -> None:
        self.phone.app_installed = False

    def add_crash_report(self, name: str, text: str, modified: datetime) -> None:
        self.phone.crash_reporter.files[f"/{name}"] = (text.encode(), modified)

    def samples_of(self, pid: int, footprints: list[int]) -> list[ProcSample]:
        ticks = iter(range(1000))
        collected = SysmonSamples(pid, clock=lambda: float(next(ticks)))
        collected.add_row([{"pid": pid, "physFootprint": 0, "cpuUsage": 0.0}])  # still starting
        for footprint in footprints:
            collected.add_row(
                [
                    {"pid": 34, "physFootprint": 9 * 2**30, "cpuUsage": 3.0},  # SpringBoard
                    {"pid": pid, "physFootprint": footprint, "cpuUsage": 100.0},
                ]
            )
        return collected.samples

    def close(self) -> None:
        self.connection.loop.close()


SIDES = {"fake": FakeSide, "pmd3": Pmd3Side}
