"""One contract, two sessions: every case runs against the fake session and against the real
pymobiledevice3 adapter's services over in-memory library objects (``session_sides.py``).

A case that fails on one side only is a fake that lies or an adapter that slipped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pomar_core.errors import AppNotInstalled, DeviceLost, DeviceNotReady
from tests.agent.devices.ios.session_sides import BUNDLE, SIDES, UDID, Side


@pytest.fixture(params=sorted(SIDES))
def side(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Side]:
    # The adapter asks usbmuxd whether a lost phone is still attached: make sure none answers.
    monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", str(tmp_path / "no-usbmuxd.sock"))
    made: Side = SIDES[request.param]()
    try:
        yield made
    finally:
        made.close()


# -- files -----------------------------------------------------------------------------------


def test_written_files_read_back_in_folders_made_on_the_way(side: Side) -> None:
    written = side.files.write_files(BUNDLE, {"pomar/jobs/r1/job.json": b"{}", "pomar/a": b"xyz"})
    assert written == 5
    assert side.files.read_file(BUNDLE, "pomar/jobs/r1/job.json") == b"{}"
    assert side.files.read_file(BUNDLE, "pomar/a") == b"xyz"


def test_what_is_not_there_reads_as_none_and_lists_empty(side: Side) -> None:
    assert side.files.read_file(BUNDLE, "pomar/nothing.json") is None
    assert side.files.list_dir(BUNDLE, "pomar/no-folder") == []


def test_a_folder_lists_each_file_and_subfolder_once(side: Side) -> None:
    side.files.write_files(BUNDLE, {"m/a.bin": b"1", "m/sub/b.bin": b"2", "m/sub/c.bin": b"3"})
    assert sorted(side.files.list_dir(BUNDLE, "m")) == ["a.bin", "sub"]


def test_remove_takes_a_whole_tree_and_ignores_what_is_not_there(side: Side) -> None:
    side.files.write_files(BUNDLE, {"m/x/a": b"1", "m/x/y/b": b"2", "m/keep": b"3"})
    side.files.remove(BUNDLE, "m/x")
    side.files.remove(BUNDLE, "m/never-was")
    assert side.files.list_dir(BUNDLE, "m") == ["keep"]
    assert side.files.read_file(BUNDLE, "m/x/y/b") is None


def test_push_tree_puts_a_file_at_remote_and_a_folder_beneath_it(
    side: Side, tmp_path: Path
) -> None:
    package = tmp_path / "tiny.mlpackage"
    (package / "Data").mkdir(parents=True)
    (package / "Manifest.json").write_bytes(b"{}")
    (package / "Data" / "weights.bin").write_bytes(bytes(10))
    single = tmp_path / "tiny.mlmodel"
    single.write_bytes(b"model")

    assert side.files.push_tree(BUNDLE, package, "models/abc/model.mlpackage") == 12
    assert side.files.push_tree(BUNDLE, single, "models/def/model.mlmodel") == 5
    assert sorted(side.files.list_dir(BUNDLE, "models/abc/model.mlpackage")) == [
        "Data",
        "Manifest.json",
    ]
    assert side.files.read_file(BUNDLE, "models/abc/model.mlpackage/Data/weights.bin") == bytes(10)
    assert side.files.read_file(BUNDLE, "models/def/model.mlmodel") == b"model"


def test_paths_are_relative_to_documents_whatever_the_slashes(side: Side) -> None:
    side.files.write_files(BUNDLE, {"/pomar/x.json": b"1"})
    assert side.files.read_file(BUNDLE, "pomar/x.json") == b"1"
    assert side.files.list_dir(BUNDLE, "/pomar/") == ["x.json"]


def test_files_of_an_app_that_is_not_installed_raise_app_not_installed(side: Side) -> None:
    side.uninstall_app()
    with pytest.raises(AppNotInstalled) as caught:
        side.files.read_file(BUNDLE, "pomar/x.json")
    assert caught.value.device_udid == UDID
    assert caught.value.hint


@pytest.mark.parametrize(
    "verb", ["read_file", "list_dir", "write_files", "launch", "crash_reports"]
)
def test_a_phone_that_went_away_raises_device_lost_naming_it(side: Side, verb: str) -> None:
    side.lose_phone()
    calls = {
        "read_file": lambda: side.files.read_file(BUNDLE, "a"),
        "list_dir": lambda: side.files.list_dir(BUNDLE, "a"),
        "write_files": lambda: side.files.write_files(BUNDLE, {"a": b"1"}),
        "launch": lambda: side.processes.launch(BUNDLE, []),
        "crash_reports": lambda: side.reports.crash_reports(),
    }
    with pytest.raises(DeviceLost) as caught:
        calls[verb]()
    assert caught.value.device_udid == UDID
    assert caught.value.hint


# -- processes -------------------------------------------------------------------------------


def test_a_killed_app_is_not_running(side: Side) -> None:
    pid = side.processes.launch(BUNDLE, [])
    assert pid > 0
    side.processes.kill(pid)
    assert not side.processes.is_running(pid)


def test_launching_on_a_locked_phone_is_not_ready_and_says_unlock_it(side: Side) -> None:
    side.lock_phone()
    with pytest.raises(DeviceNotReady) as caught:
        side.processes.launch(BUNDLE, ["--pomar-run", "r1"])
    assert caught.value.device_udid == UDID
    assert "unlock" in (caught.value.hint or "").lower()
    assert "Auto-Lock" in (caught.value.hint or "")


# -- crash reports ---------------------------------------------------------------------------


def test_crash_reports_since_a_time_leave_out_older_ones_and_other_files(side: Side) -> None:
    now = datetime.now(UTC)
    side.add_crash_report("JetsamEvent-old.ips", "{}", now - timedelta(hours=1))
    side.add_crash_report("Harness-new.ips", "{}", now)
    side.add_crash_report("Harness-legacy.crash", "text", now)
    side.add_crash_report("notes.txt", "not a report", now)
    every = [r.path for r in side.reports.crash_reports()]
    recent = [r.path for r in side.reports.crash_reports(since=now - timedelta(minutes=1))]
    assert sorted(every) == ["/Harness-legacy.crash", "/Harness-new.ips", "/JetsamEvent-old.ips"]
    assert sorted(recent) == ["/Harness-legacy.crash", "/Harness-new.ips"]


def test_a_crash_report_reads_back_as_its_text(side: Side) -> None:
    text = '{"bug_type": "298"}\n{"largestProcess": "Harness — ß"}'
    side.add_crash_report("JetsamEvent-1.ips", text, datetime.now(UTC))
    (ref,) = side.reports.crash_reports()
    assert side.reports.read_crash_report(ref.path) == text


# -- sampling --------------------------------------------------------------------------------


def test_samples_follow_the_footprints_and_the_first_has_no_cpu_figure(side: Side) -> None:
    footprints = [24 * 2**20, 180 * 2**20, 120 * 2**20]
    samples = side.samples_of(401, footprints)
    assert [s.phys_footprint_bytes for s in samples] == footprints
    assert samples[0].cpu_percent is None
    assert all(s.cpu_percent is not None for s in samples[1:])
    assert [s.t_s for s in samples] == sorted(s.t_s for s in samples)
