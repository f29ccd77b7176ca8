"""The farm file: parsing, every error with its file, line and field, apply, and firing a plan."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.farmfile import FarmFile, ModelEntry, SweepPlan, key_lines, load_farm_file
from orchestrator.scheduler import ScheduleFirer, StoreScheduler, new_schedule, parse_cron
from orchestrator.stores.memory import MemoryJobStore
from orchestrator.sweeps import apply_farm_file, sweep_job, sweep_of
from pomar.cli import main
from pomar_core.celery_app import make_app
from pomar_core.errors import FarmFileError
from pomar_core.wire import ComputeUnit, Precision
from tests.factories import job_spec

FARM = """\
[notify]
report_url = "https://ci.example.com/pomar/{job_id}"
[[notify.webhook]]
url = "http://127.0.0.1:9/hook"
format = "slack"

[schedule.nightly]
cron = "0 2 * * *"
timezone = "Europe/Berlin"
pools = ["iPhone15,2", "lab"]
compute_units = ["cpu", "ane"]
precision = "fp32"
iterations = 50
confirm = true

[[schedule.nightly.model]]
path = "models/a.mlpackage"
inputs = "inputs/a.npz"
tolerance = "strict"
budgets = { p50_ms = 12.0, peak_memory_bytes = 300_000_000 }

[[schedule.nightly.model]]
path = "models/b.mlmodel"
seed = 7
tolerance = "policy.toml"

[schedule.weekly]
cron = "0 4 * * 0"
every_pool = true

[[schedule.weekly.model]]
path = "models/a.mlpackage"
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "models" / "a.mlpackage").mkdir(parents=True)
    (tmp_path / "models" / "b.mlmodel").write_bytes(b"m")
    (tmp_path / "inputs").mkdir()
    (tmp_path / "inputs" / "a.npz").write_bytes(b"npz")
    (tmp_path / "policy.toml").write_text('name = "mine"\n[defaults]\nmax_abs_error = 0.1\n')
    (tmp_path / "farm.toml").write_text(FARM)
    return tmp_path


def broken(repo: Path, old: str, new: str) -> FarmFileError:
    path = repo / "farm.toml"
    path.write_text(FARM.replace(old, new, 1))
    with pytest.raises(FarmFileError) as caught:
        load_farm_file(path)
    assert str(path) in caught.value.one_line()
    return caught.value


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_complete_farm_file_parses_with_paths_resolved_and_policies_read(repo: Path) -> None:
    farm = load_farm_file(repo / "farm.toml")
    assert set(farm.schedules) == {"nightly", "weekly"}
    nightly = farm.schedules["nightly"]
    assert nightly.timezone == "Europe/Berlin"
    assert nightly.compute_units == (ComputeUnit.CPU, ComputeUnit.ANE)
    assert nightly.precision is Precision.FP32
    assert nightly.iterations == 50
    assert nightly.confirm
    a, b = nightly.models
    assert a.path == str(repo / "models" / "a.mlpackage")
    assert a.inputs == str(repo / "inputs" / "a.npz")
    assert a.budgets.p50_ms == 12.0
    assert b.seed == 7
    assert "max_abs_error" in b.tolerance
    assert farm.schedules["weekly"].every_pool
    assert farm.notify.webhooks[0].format == "slack"


@pytest.mark.parametrize(
    ("old", "new", "field", "at_line"),
    [
        ("iterations = 50", "iterations = 0", "schedule.nightly.iterations", "iterations = 0"),
        ('precision = "fp32"', 'precision = "fp8"', "schedule.nightly.precision", "precision"),
        ('"cpu", "ane"', '"cpu", "npu"', "schedule.nightly.compute_units[1]", "compute_units"),
        ("confirm = true", "confirm = true\nretries = 3", "schedule.nightly.retries", "retries"),
        ("seed = 7", 'seed = 7\ncolour = "red"', "schedule.nightly.model[1].colour", "colour"),
        ("p50_ms = 12.0", 'p50_ms = "fast"', "schedule.nightly.model[0].budgets.p50_ms", "budgets"),
        ('format = "slack"', 'format = "teams"', "notify.webhook[0].format", "teams"),
        ('url = "http://', 'url = "ftp://', "notify.webhook[0].url", "ftp://"),
        ('cron = "0 2 * * *"', 'cron = "0 25 * * *"', "schedule.nightly.cron", "0 25"),
        ("Europe/Berlin", "Mars/Olympus", "schedule.nightly.timezone", "Mars"),
        ("models/b.mlmodel", "models/c.mlmodel", "schedule.nightly.model[1].path", "c.mlmodel"),
        ("inputs/a.npz", "inputs/z.npz", "schedule.nightly.model[0].inputs", "z.npz"),
        ('"strict"', '"strictest"', "schedule.nightly.model[0].tolerance", "strictest"),
        ("every_pool = true", "", "schedule.weekly", "[schedule.weekly]"),
    ],
)
def test_each_bad_field_names_its_file_line_and_field(
    repo: Path, old: str, new: str, field: str, at_line: str
) -> None:
    error = broken(repo, old, new)
    text = (repo / "farm.toml").read_text()
    assert error.field == field
    assert error.line == line_of(text, at_line)
    assert f"farm.toml:{error.line}: {field}: " in error.one_line()
    assert error.exit_code == 2


def test_a_tolerance_file_that_does_not_validate_is_named_at_its_line(repo: Path) -> None:
    (repo / "policy.toml").write_text("[defaults]\nmax_abs_error = 'big'\n")
    error = broken(repo, "x", "x")
    assert error.field == "schedule.nightly.model[1].tolerance"
    assert error.line == line_of(FARM, 'tolerance = "policy.toml"')


def test_invalid_toml_gives_the_parser_line(repo: Path) -> None:
    error = broken(repo, "iterations = 50", "iterations = = 50")
    assert error.line == line_of(FARM, "iterations")
    assert error.field is None


def test_a_schedule_without_models_is_refused(repo: Path) -> None:
    text = FARM.split("[schedule.weekly]")[0] + '[schedule.weekly]\ncron = "0 4 * * 0"\n'
    text += "every_pool = true\n"
    (repo / "farm.toml").write_text(text)
    with pytest.raises(FarmFileError) as caught:
        load_farm_file(repo / "farm.toml")
    assert caught.value.field == "schedule.weekly.model"


def test_key_lines_index_arrays_of_tables_as_pydantic_does() -> None:
    lines = key_lines(FARM)
    assert lines[("schedule", "nightly", "model", 1, "seed")] == line_of(FARM, "seed = 7")
    assert lines[("notify", "webhook", 0, "format")] == line_of(FARM, 'format = "slack"')
    assert lines[("schedule", "weekly", "model", 0)] == line_of(FARM, "[[schedule.weekly.model]]")


def test_a_missing_farm_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedule", "validate", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: cannot read" in capsys.readouterr().err


def test_validate_prints_ok_and_errors_exit_2_with_the_line(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schedule", "validate", str(repo / "farm.toml")]) == 0
    assert "ok (nightly, weekly; 1 webhook(s))" in capsys.readouterr().out
    (repo / "farm.toml").write_text(FARM.replace("iterations = 50", "iterations = -1"))
    assert main(["schedule", "validate", str(repo / "farm.toml")]) == 2
    err = capsys.readouterr().err
    assert f"farm.toml:{line_of(FARM, 'iterations')}: schedule.nightly.iterations:" in err


def load(repo: Path) -> FarmFile:
    return load_farm_file(repo / "farm.toml")


def test_apply_adds_changes_and_removes_only_farm_file_schedules(repo: Path) -> None:
    store = MemoryJobStore()
    store.save_schedule(new_schedule("by-hand", "0 3 * * *", ("m",), ("p",), ("all",)))
    first = apply_farm_file(store, load(repo))
    assert first.added == ("nightly", "weekly")
    assert apply_farm_file(store, load(repo)).unchanged == ("nightly", "weekly")
    store.mark_fired("nightly", datetime.now(UTC))
    (repo / "farm.toml").write_text(
        FARM.replace("iterations = 50", "iterations = 20").split("[schedule.weekly]")[0]
    )
    second = apply_farm_file(store, load(repo))
    assert second.changed == ("nightly",)
    assert second.removed == ("weekly",)
    names = {s.name: s for s in store.list_schedules()}
    assert set(names) == {"by-hand", "nightly"}
    assert names["nightly"].last_fired_at is not None  # a changed plan does not fire at once
    assert names["nightly"].timezone == "Europe/Berlin"


def test_beat_picks_up_an_applied_file_without_a_restart(repo: Path) -> None:
    store = MemoryJobStore()
    app = make_app(None, name="pomar-test-beat")
    beat = StoreScheduler(app, store=store)
    beat.refresh_s = 0.0
    assert beat.schedule == {}
    apply_farm_file(store, load(repo))
    assert set(beat.schedule) == {"nightly", "weekly"}
    assert beat.schedule["nightly"].schedule.tz.key == "Europe/Berlin"


def test_a_cron_in_a_time_zone_fires_at_local_time() -> None:
    schedule = parse_cron("0 2 * * *", "Asia/Tokyo")
    # 02:00 in Tokyo is 17:00 UTC the day before.
    last = datetime(2026, 1, 1, 16, 0, tzinfo=UTC)
    schedule.nowfun = lambda: datetime(2026, 1, 1, 17, 0, 30, tzinfo=UTC)
    assert schedule.is_due(last).is_due
    schedule.nowfun = lambda: datetime(2026, 1, 1, 16, 59, tzinfo=UTC)
    assert not schedule.is_due(last).is_due


def test_a_fired_plan_submits_every_model_as_one_sweep(repo: Path) -> None:
    store = MemoryJobStore()
    apply_farm_file(store, load(repo))
    calls: list[tuple[str, str, str]] = []

    def submit_plan(plan: SweepPlan, entry: ModelEntry, sweep_id: str) -> str:
        calls.append((plan.name, entry.path, sweep_id))
        return f"job-{len(calls)}"

    firer = ScheduleFirer(lambda *a: "never", store, submit_plan=submit_plan)
    assert firer.fire("nightly") == ["job-1", "job-2"]
    assert {c[2] for c in calls} == {calls[0][2]}
    assert calls[0][2].startswith("nightly@")


def test_a_sweep_job_is_labelled_least_urgent_and_names_its_sweep(repo: Path) -> None:
    plan = load(repo).schedules["nightly"]
    job = sweep_job(job_spec("j1"), plan, "nightly@20260101T020000Z")
    assert job.priority == 0
    assert job.label == "schedule nightly"
    assert sweep_of(job) == "nightly@20260101T020000Z"
    assert sweep_of(job_spec("j2")) is None
