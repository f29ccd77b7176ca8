"""Parsing JetsamEvent and crash reports written in Apple's documented formats."""

from __future__ import annotations

import textwrap

from agent.devices.ios.jetsam import (
    ExitKind,
    diagnose_exit,
    parse_crash_report,
    parse_jetsam_event,
)

# An iOS 17 JetsamEvent: one JSON header line, then the pretty-printed body.
JETSAM_IOS17 = (
    '{"bug_type":"298","timestamp":"2024-05-02 10:15:32.00 +0200",'
    '"os_version":"iPhone OS 17.4.1 (21E236)","roots_installed":0,'
    '"incident_id":"6D2B8A4E-2C44-4B7A-9E61-0C1D6B1B3F1A"}\n'
    + textwrap.dedent("""\
    {
      "crashReporterKey" : "b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0",
      "kernel" : "Darwin Kernel Version 23.4.0: Fri Mar  8 23:29:22 PST 2024",
      "product" : "iPhone15,2",
      "incident" : "6D2B8A4E-2C44-4B7A-9E61-0C1D6B1B3F1A",
      "date" : "2024-05-02 10:15:32.67 +0200",
      "build" : "iPhone OS 17.4.1 (21E236)",
      "timeDelta" : 7,
      "memoryStatus" : {
        "compressorSize" : 61320,
        "compressions" : 1204567,
        "decompressions" : 834211,
        "zoneMapCap" : 1454407680,
        "largestZone" : "APFS_4K_OBJS",
        "largestZoneSize" : 41648128,
        "pageSize" : 16384,
        "uncompressed" : 190412,
        "zoneMapSize" : 171491328,
        "memoryPages" : {"active" : 91233, "throttled" : 0, "fileBacked" : 60211,
                         "wired" : 40231, "anonymous" : 101234, "purgeable" : 81,
                         "inactive" : 88012, "free" : 2301, "speculative" : 1123}
      },
      "largestProcess" : "Harness",
      "genCounter" : 0,
      "processes" : [
        {"uuid" : "1a2b3c4d-0000-1111-2222-333344445555", "states" : ["daemon", "idle"],
         "age" : 812345678, "purgeable" : 0, "fds" : 25, "coalition" : 77,
         "rpages" : 812, "priority" : 0, "pid" : 73, "name" : "mediaserverd"},
        {"uuid" : "9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0", "states" : ["frontmost", "resume"],
         "killDelta" : 15442, "genCount" : 0, "age" : 2345678, "purgeable" : 0,
         "fds" : 50, "coalition" : 912, "rpages" : 187500, "priority" : 100,
         "reason" : "per-process-limit", "physicalPages" : {"internal" : [187000, 500]},
         "pid" : 1234, "idleDelta" : 0, "name" : "Harness", "cpuTime" : 12.5,
         "lifetimeMax" : 188000},
        {"uuid" : "00000000-1111-2222-3333-444444444444", "states" : ["suspended"],
         "rpages" : 5100, "pid" : 1180, "name" : "MobileSafari",
         "reason" : "vm-pageshortage"}
      ]
    }
    """)
)

# An iOS 17 app crash (bug_type 309), trimmed of threads and images.
CRASH_IOS17 = (
    '{"app_name":"Harness","timestamp":"2024-05-02 10:20:01.00 +0200","app_version":"1.0",'
    '"slice_uuid":"0e1d2c3b-4a59-6877-8695-a4b3c2d1e0f9","build_version":"7","platform":2,'
    '"bundleID":"org.pomar.harness","share_with_app_devs":0,"is_first_party":0,'
    '"bug_type":"309","os_version":"iPhone OS 17.4.1 (21E236)","roots_installed":0,'
    '"name":"Harness","incident_id":"A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF"}\n'
    + textwrap.dedent("""\
    {
      "uptime" : 123456,
      "procRole" : "Foreground",
      "version" : 2,
      "userID" : 501,
      "deployVersion" : 210,
      "modelCode" : "iPhone15,2",
      "captureTime" : "2024-05-02 10:20:01.1234 +0200",
      "incident" : "A1B2C3D4-E5F6-4711-8899-AABBCCDDEEFF",
      "pid" : 2211,
      "cpuType" : "ARM-64",
      "procName" : "Harness",
      "procPath" : "/private/var/containers/Bundle/Application/UUID/Harness.app/Harness",
      "bundleInfo" : {"CFBundleShortVersionString" : "1.0", "CFBundleVersion" : "7",
                      "CFBundleIdentifier" : "org.pomar.harness"},
      "parentProc" : "launchd",
      "parentPid" : 1,
      "exception" : {"codes" : "0x0000000000000001, 0x00000001a2b3c4d5",
                     "rawCodes" : [1, 7025182933], "type" : "EXC_BREAKPOINT",
                     "signal" : "SIGTRAP"},
      "termination" : {"flags" : 0, "code" : 5, "namespace" : "SIGNAL",
                       "indicator" : "Trace/BPT trap: 5", "byProc" : "exc handler",
                       "byPid" : 2211},
      "faultingThread" : 0,
      "threads" : []
    }
    """)
)

# The same crash on an older device, in the legacy text format.
CRASH_TEXT = textwrap.dedent("""\
    Incident Identifier: 5B0F3E1C-1D2E-4F5A-8B9C-0D1E2F3A4B5C
    CrashReporter Key:   b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0
    Hardware Model:      iPhone11,8
    Process:             Harness [845]
    Path:                /private/var/containers/Bundle/Application/UUID/Harness.app/Harness
    Identifier:          org.pomar.harness
    Version:             7 (1.0)
    Code Type:           ARM-64 (Native)
    Parent Process:      launchd [1]

    Date/Time:           2022-11-03 09:12:44.1234 +0100
    OS Version:          iPhone OS 15.7 (19H12)

    Exception Type:  EXC_CRASH (SIGABRT)
    Exception Codes: 0x0000000000000000, 0x0000000000000000
    Termination Reason: SIGNAL 6 Abort trap: 6
    Triggered by Thread:  0
    """)

MEMORY_RESOURCE_CRASH = textwrap.dedent("""\
    Process:             Harness [977]
    Identifier:          org.pomar.harness
    Exception Type:  EXC_RESOURCE
    Exception Subtype: MEMORY
    Exception Message: (Limit 2048 MB) Crossed Memory High Watermark
    """)


def test_jetsam_event_names_the_killed_app_with_its_reason_and_footprint() -> None:
    event = parse_jetsam_event(JETSAM_IOS17)
    assert event is not None
    assert event.largest_process == "Harness"
    assert event.page_size == 16384
    killed = event.killed(1234)
    assert killed is not None
    assert killed.reason == "per-process-limit"
    assert event.footprint_bytes(killed) == 188000 * 16384
    assert event.killed(73) is None  # listed, but not killed


def test_oom_is_diagnosed_only_for_our_pid() -> None:
    ours = diagnose_exit(1234, [("/JetsamEvent-2024-05-02-101532.ips", JETSAM_IOS17)])
    assert ours.kind is ExitKind.OOM_KILLED
    assert "per-process-limit" in ours.detail
    assert "own memory limit" in ours.detail
    assert ours.footprint_bytes == 188000 * 16384
    assert diagnose_exit(4321, [("/JetsamEvent.ips", JETSAM_IOS17)]).kind is ExitKind.UNKNOWN


def test_system_pressure_kill_is_an_oom_that_says_so() -> None:
    diagnosis = diagnose_exit(1180, [("/JetsamEvent.ips", JETSAM_IOS17)])
    assert diagnosis.kind is ExitKind.OOM_KILLED
    assert "system memory pressure" in diagnosis.detail


def test_ips_crash_report_is_a_crash_with_exception_and_signal() -> None:
    report = parse_crash_report(CRASH_IOS17)
    assert report is not None
    assert (report.pid, report.process_name) == (2211, "Harness")
    assert report.bundle_id == "org.pomar.harness"
    assert report.exception_type == "EXC_BREAKPOINT"
    assert report.signal == "SIGTRAP"
    assert not report.memory_kill
    diagnosis = diagnose_exit(2211, [("/Harness-2024-05-02-102001.ips", CRASH_IOS17)])
    assert diagnosis.kind is ExitKind.CRASHED
    assert "EXC_BREAKPOINT" in diagnosis.detail


def test_legacy_text_crash_report_is_parsed() -> None:
    report = parse_crash_report(CRASH_TEXT)
    assert report is not None
    assert (report.pid, report.exception_type, report.signal) == (845, "EXC_CRASH", "SIGABRT")
    assert report.termination == "SIGNAL 6 Abort trap: 6"


def test_memory_resource_exception_counts_as_an_oom() -> None:
    diagnosis = diagnose_exit(977, [("/Harness.ips", MEMORY_RESOURCE_CRASH)])
    assert diagnosis.kind is ExitKind.OOM_KILLED


def test_jetsam_wins_over_a_crash_report_for_the_same_pid() -> None:
    crash_for_1234 = CRASH_IOS17.replace('"pid" : 2211', '"pid" : 1234')
    diagnosis = diagnose_exit(1234, [("/a.ips", crash_for_1234), ("/b.ips", JETSAM_IOS17)])
    assert diagnosis.kind is ExitKind.OOM_KILLED


def test_garbage_and_other_report_types_are_ignored() -> None:
    assert parse_jetsam_event("not json") is None
    assert parse_crash_report("not a report") is None
    assert parse_crash_report(JETSAM_IOS17) is None
    assert parse_jetsam_event(CRASH_IOS17) is None
    assert diagnose_exit(1, [("/x", ""), ("/y", "{}\n{}")]).kind is ExitKind.UNKNOWN


def test_old_jetsam_with_top_level_page_size() -> None:
    old = '{"bug_type":"298"}\n{"pageSize": 4096, "processes": [{"pid": 5, "name": "Harness", "rpages": 10, "reason": "highwater"}]}'  # noqa: E501
    event = parse_jetsam_event(old)
    assert event is not None
    assert event.page_size == 4096
    killed = event.killed(5)
    assert killed is not None
    assert event.footprint_bytes(killed) == 40960
