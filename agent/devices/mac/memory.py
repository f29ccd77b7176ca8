"""The process's ``phys_footprint`` on macOS, through ``proc_pid_rusage`` (libproc).

Core ML runs inside this Python process for the Mac backend, so the footprint includes the
interpreter and anything it imported: compare phases (``after_load - baseline``), not absolute
numbers, with the iPhone's. Off macOS every sample is None.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Callable

RUSAGE_INFO_V2 = 2


class _RusageInfoV2(ctypes.Structure):
    """``struct rusage_info_v2`` from <sys/resource.h>; we only read ``ri_phys_footprint``."""

    _fields_ = [
        ("ri_uuid", ctypes.c_uint8 * 16),
        ("ri_user_time", ctypes.c_uint64),
        ("ri_system_time", ctypes.c_uint64),
        ("ri_pkg_idle_wkups", ctypes.c_uint64),
        ("ri_interrupt_wkups", ctypes.c_uint64),
        ("ri_pageins", ctypes.c_uint64),
        ("ri_wired_size", ctypes.c_uint64),
        ("ri_resident_size", ctypes.c_uint64),
        ("ri_phys_footprint", ctypes.c_uint64),
        ("ri_proc_start_abstime", ctypes.c_uint64),
        ("ri_proc_exit_abstime", ctypes.c_uint64),
        ("ri_child_user_time", ctypes.c_uint64),
        ("ri_child_system_time", ctypes.c_uint64),
        ("ri_child_pkg_idle_wkups", ctypes.c_uint64),
        ("ri_child_interrupt_wkups", ctypes.c_uint64),
        ("ri_child_pageins", ctypes.c_uint64),
        ("ri_child_elapsed_abstime", ctypes.c_uint64),
        ("ri_diskio_bytesread", ctypes.c_uint64),
        ("ri_diskio_byteswritten", ctypes.c_uint64),
    ]


def phys_footprint() -> int | None:
    """Bytes of this process's physical footprint, or None where it cannot be read."""
    if sys.platform != "darwin":
        return None
    try:
        libproc = ctypes.CDLL("/usr/lib/libproc.dylib", use_errno=True)
    except OSError:
        return None
    info = _RusageInfoV2()
    status = libproc.proc_pid_rusage(os.getpid(), RUSAGE_INFO_V2, ctypes.byref(info))
    if status != 0:
        return None
    return int(info.ri_phys_footprint)


class FootprintSampler:
    """Samples the footprint and keeps the peak; the probe is injectable for tests."""

    def __init__(self, probe: Callable[[], int | None] = phys_footprint) -> None:
        self._probe = probe
        self._lock = threading.Lock()
        self.peak: int | None = None

    def sample(self) -> int | None:
        value = self._probe()
        if value is not None:
            with self._lock:
                self.peak = value if self.peak is None else max(self.peak, value)
        return value
