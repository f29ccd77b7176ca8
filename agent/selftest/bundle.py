"""``pomar selftest --bundle PATH``: one ``.tar.gz`` a user attaches to a bug report.

Members: ``environment.json`` (host, Python, package versions), ``device.json``,
``checks.json`` (each check: status, measured, expected band), ``raw/<model>-<unit>.json``
(what the device reported for each run), ``outputs/<model>-<unit>/<name>.npy``, and
``device_logs/`` (the crash and jetsam reports the phone wrote during the battery).
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import platform
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from agent.device import Device
from agent.selftest.run import SelftestReport
from pomar_core.errors import DeviceError, UsageError

PACKAGES = ("pomar", "coremltools", "numpy", "torch", "pymobiledevice3", "pydantic", "celery")


def environment() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "mac_ver": platform.mac_ver()[0] or None,
        "python": sys.version.split()[0],
        "packages": versions,
    }


def crash_report_paths(device: Device) -> set[str]:
    """The reports an iPhone holds now (empty for devices without reports)."""
    reports = _reports(device)
    if reports is None:
        return set()
    try:
        return {r.path for r in reports.crash_reports()}
    except DeviceError:
        return set()


def new_crash_reports(device: Device, known: set[str]) -> dict[str, str]:
    """Report path → text for the reports written since ``known`` was taken."""
    reports = _reports(device)
    if reports is None:
        return {}
    found: dict[str, str] = {}
    try:
        for ref in reports.crash_reports():
            if ref.path not in known:
                found[ref.path] = reports.read_crash_report(ref.path)
    except DeviceError as exc:
        found["unreadable.txt"] = f"could not pull the device's reports: {exc.one_line()}"
    return found


def _reports(device: Device) -> Any:
    session = getattr(device, "session", None)
    return session if callable(getattr(session, "crash_reports", None)) else None


def write_bundle(report: SelftestReport, path: Path, device_logs: dict[str, str]) -> Path:
    """Write the archive atomically (a temporary file renamed into place)."""
    if path.is_dir():
        raise UsageError(
            f"--bundle {path} is a directory", hint="give a file name: selftest.tar.gz"
        )
    members: dict[str, bytes] = {
        "environment.json": _json(environment()),
        "device.json": report.device.model_dump_json(indent=2).encode(),
        "checks.json": _json(
            {
                "infra_error": report.infra_error,
                "checks": [c.model_dump(mode="json") for c in report.checks],
            }
        ),
    }
    for run in report.raw:
        members[f"raw/{run.model}-{run.compute_unit}.json"] = _json(run.outcome)
    for key, array in report.outputs.items():
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(array), allow_pickle=False)
        members[f"outputs/{key}.npy"] = buffer.getvalue()
    for name, text in device_logs.items():
        members[f"device_logs/{Path(name).name}"] = text.encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with tarfile.open(partial, "w:gz") as archive:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(f"selftest/{name}")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            archive.addfile(info, io.BytesIO(data))
    partial.replace(path)
    return path


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, default=str).encode()
