"""The crash reports a fake iPhone writes, shaped like the real ``.ips`` files
(``agent.devices.ios.jetsam`` parses them). A new kind of report is one function here."""

from __future__ import annotations

import json
from datetime import UTC, datetime

PAGE_BYTES = 16384


def report_stamp() -> str:
    """The timestamp part of a report's file name, unique per call in practice."""
    return datetime.now(UTC).strftime("%Y-%m-%d-%H%M%S%f")


def jetsam_ips(pid: int, product: str, footprint: int) -> str:
    """A JetsamEvent that killed the harness (``pid``) at its per-process limit."""
    header = {
        "bug_type": "298",
        "timestamp": datetime.now(UTC).isoformat(),
        "os_version": "iPhone OS 17.5.1 (21F90)",
        "incident_id": "FAKE",
    }
    body = {
        "product": product,
        "largestProcess": "Harness",
        "memoryStatus": {"pageSize": PAGE_BYTES, "memoryPages": {"free": 1000}},
        "processes": [
            {"name": "SpringBoard", "pid": 34, "rpages": 9000, "states": ["daemon"]},
            {
                "name": "Harness",
                "pid": pid,
                "rpages": footprint // PAGE_BYTES,
                "lifetimeMax": footprint // PAGE_BYTES,
                "reason": "per-process-limit",
                "states": ["frontmost"],
            },
        ],
    }
    return json.dumps(header) + "\n" + json.dumps(body, indent=2)


def segfault_ips(pid: int, bundle_id: str) -> str:
    """The harness (``pid``) crashed with EXC_BAD_ACCESS / SIGSEGV."""
    header = {"app_name": "Harness", "bug_type": "309", "bundleID": bundle_id, "name": "Harness"}
    body = {
        "pid": pid,
        "procName": "Harness",
        "bundleInfo": {"CFBundleIdentifier": bundle_id},
        "exception": {
            "type": "EXC_BAD_ACCESS",
            "signal": "SIGSEGV",
            "subtype": "KERN_INVALID_ADDRESS",
        },
        "termination": {"namespace": "SIGNAL", "indicator": "Segmentation fault: 11"},
    }
    return json.dumps(header) + "\n" + json.dumps(body, indent=2)
