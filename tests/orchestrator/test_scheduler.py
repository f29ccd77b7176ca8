"""Schedules: cron parsing, beat reading the store, firing once, surviving a beat restart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orchestrator.scheduler import ScheduleFirer, StoreScheduler, new_schedule, parse_cron
from orchestrator.stores.memory import MemoryJobStore
from pomar.cli import main
from pomar_core.celery_app import make_app
from pomar_core.errors import UsageError


@pytest.mark.parametrize("bad", ["* * * *", "61 * * * *", "0 2 * * funday"])
def test_a_bad_cron_expression_is_a_usage_error_with_an_example(bad: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_cron(bad)
    assert "0 2 * * *" in caught.value.one_line()


def test_a_due_schedule_fires_once_and_a_restarted_beat_does_not_fire_it_again() -> None:
    store = MemoryJobStore()
    schedule = new_schedule("nightly", "* * * * *", ("m.mlpackage",), ("lab",), ("all",))
    store.save_schedule(
        schedule.model_copy(update={"created_at": datetime.now(UTC) - timedelta(minutes=5)})
    )
    app = make_app(None, name="pomar-test-beat")
    beat = StoreScheduler(app, store=store)
    entry = beat.schedule["nightly"]
    assert entry.is_due().is_due
    beat.reserve(entry)
    (fired,) = store.list_schedules()
    assert fired.last_fired_at is not None
    assert not beat.schedule["nightly"].is_due().is_due
    restarted = StoreScheduler(app, store=store)
    assert not restarted.schedule["nightly"].is_due().is_due


def test_firing_submits_one_job_per_model_and_skips_a_removed_schedule() -> None:
    store = MemoryJobStore()
    store.save_schedule(
        new_schedule("n", "0 2 * * *", ("a.mlpackage", "b.pt2"), ("lab",), ("cpu",))
    )
    calls: list[tuple[str, tuple[str, ...], tuple[str, ...], str]] = []

    def submit(model: str, pools: tuple[str, ...], units: tuple[str, ...], name: str) -> str:
        calls.append((model, pools, units, name))
        return f"job-{len(calls)}"

    firer = ScheduleFirer(submit, store)
    assert firer.fire("n") == ["job-1", "job-2"]
    assert calls == [
        ("a.mlpackage", ("lab",), ("cpu",), "n"),
        ("b.pt2", ("lab",), ("cpu",), "n"),
    ]
    assert firer.fire("gone") == []


def test_schedules_are_added_listed_and_removed_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POMAR_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("POMAR_STORE_URL", raising=False)
    add = ["schedule", "add", "nightly", "--cron", "0 2 * * *", "--model", "m.mlpackage"]
    assert main([*add, "--pool", "iPhone15,2", "--compute-units", "cpu,ane"]) == 0
    assert main(["schedule", "list", "--json"]) == 0
    out = capsys.readouterr().out
    (listed,) = json.loads(out.splitlines()[-1])["schedules"]
    assert (listed["name"], listed["pools"], listed["compute_units"]) == (
        "nightly",
        ["iPhone15,2"],
        ["cpu", "ane"],
    )
    assert main(["schedule", "remove", "nightly"]) == 0
    assert main(["schedule", "remove", "nightly"]) == 2
    assert main([*add]) == 2  # no pool
    assert "at least one --model and one --pool" in capsys.readouterr().err
