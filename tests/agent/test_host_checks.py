"""`pomar doctor` on a device host: Xcode, the harness app and the tunnel daemon on a Mac,
each skipped saying "not macOS" elsewhere — never reported as passing."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.host_checks import check_harness_app, check_tunneld, check_xcode, host_checks
from pomar_core.health import HealthStatus


def test_off_macos_every_mac_check_is_skipped_saying_so() -> None:
    checks = host_checks(None, system="Linux")
    assert [c.name for c in checks] == ["xcode", "harness app", "tunnel daemon"]
    assert {c.status for c in checks} == {HealthStatus.SKIPPED}
    assert all(c.line().endswith("skipped: not macOS") for c in checks)


def test_xcode_passes_with_its_version_and_fails_with_the_fix() -> None:
    good = check_xcode(lambda argv: (0, "Xcode 15.4"))
    bad = check_xcode(lambda argv: (1, 'xcrun: error: unable to find utility "xcodebuild"'))
    assert good.status is HealthStatus.PASSED
    assert good.detail == "Xcode 15.4"
    assert bad.status is HealthStatus.FAILED
    assert bad.fix
    assert "xcode-select -s" in bad.fix


def test_a_missing_or_broken_harness_app_says_how_to_build_it(tmp_path: Path) -> None:
    missing = check_harness_app(None)
    broken_path = tmp_path / "Broken.ipa"
    broken_path.write_bytes(b"not a zip")
    broken = check_harness_app(broken_path)
    assert missing.status is HealthStatus.FAILED
    assert missing.fix
    assert "build_ipa.sh" in missing.fix
    assert broken.status is HealthStatus.FAILED


@pytest.fixture
def listening() -> Iterator[tuple[str, int]]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield "127.0.0.1", int(server.getsockname()[1])


def test_the_tunnel_daemon_passes_when_it_answers_and_fails_with_the_command(
    listening: tuple[str, int],
) -> None:
    assert check_tunneld(listening).status is HealthStatus.PASSED
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = ("127.0.0.1", int(probe.getsockname()[1]))
    down = check_tunneld(closed)
    assert down.status is HealthStatus.FAILED
    assert down.fix
    assert "remote tunneld" in down.fix


def test_on_macos_the_three_checks_run(listening: tuple[str, int]) -> None:
    checks = host_checks(
        None, system="Darwin", run=lambda argv: (0, "Xcode 16.0"), tunneld=listening
    )
    assert [c.status for c in checks] == [
        HealthStatus.PASSED,
        HealthStatus.FAILED,  # no harness app given
        HealthStatus.PASSED,
    ]
