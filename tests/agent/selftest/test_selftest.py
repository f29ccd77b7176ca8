"""The self-test battery passes on the emulator and a healthy fake iPhone, and each check fails
on the fake iPhone scenario that breaks the measurement it proves."""

from __future__ import annotations

from typing import Any

import pytest

from agent.devices.emulated.device import EmulatedDevice
from agent.selftest import CheckStatus, SelftestReport, run_selftest
from agent.selftest.devices import fake_selftest_iphone


def statuses(report: SelftestReport) -> dict[str, CheckStatus]:
    return {c.check: c.status for c in report.checks}


def test_every_check_passes_or_skips_on_the_emulator() -> None:
    report = run_selftest(EmulatedDevice())
    assert report.infra_error is None
    assert statuses(report) == {
        "output layout": CheckStatus.PASSED,
        "memory sampling": CheckStatus.PASSED,
        "latency sanity": CheckStatus.PASSED,
        "compute plan": CheckStatus.SKIPPED,
        "jetsam classification": CheckStatus.SKIPPED,
    }
    assert not report.failed


def test_every_check_passes_on_a_healthy_fake_iphone_including_jetsam() -> None:
    report = run_selftest(fake_selftest_iphone())
    found = statuses(report)
    assert found.pop("compute plan") is CheckStatus.SKIPPED  # the fake makes no compute plan
    assert set(found.values()) == {CheckStatus.PASSED}, [c.line() for c in report.checks]
    jetsam = next(c for c in report.checks if c.check == "jetsam classification")
    assert jetsam.measured == "oom_killed"


@pytest.mark.parametrize(
    ("scenario", "check", "says"),
    [
        ({"output_layout_bug": True}, "output layout", "2/30 exact"),
        ({"footprint_scale": 1 / 1024}, "memory sampling", "0.0 MiB"),
        ({"footprint_scale": 1024.0}, "memory sampling", "16396.0 MiB"),
        ({"jetsam_report_missing": True}, "jetsam classification", "crashed"),
        ({"timings_bug": "zero"}, "latency sanity", "first prediction 0 ms"),
        ({"timings_bug": "negative"}, "latency sanity", "cold load -50 ms"),
    ],
)
def test_each_check_fails_on_the_fake_iphone_that_breaks_its_measurement(
    scenario: dict[str, Any], check: str, says: str
) -> None:
    report = run_selftest(fake_selftest_iphone(**scenario))
    failed = {c.check: c for c in report.failed}
    assert set(failed) == {check}, [c.line() for c in report.checks]
    assert says in failed[check].measured
    assert failed[check].expected  # the band is printed with the value


def test_a_device_that_is_not_ready_stops_the_battery_as_infrastructure() -> None:
    report = run_selftest(fake_selftest_iphone(locked=True))
    assert report.checks == ()
    assert report.infra_error is not None
    assert "unlock" in report.infra_error.lower()
