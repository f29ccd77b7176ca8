"""`pomar export` / `pomar import` / `pomar check --from-bundle`: a job checked on one host is
moved to another store and rerun on the recipient's own device."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.selftest.battery import exact_model
from orchestrator.stores import open_store
from pomar.cli import main


@pytest.fixture(autouse=True)
def embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POMAR_BROKER_URL", "POMAR_STORE_URL", "POMAR_ARTIFACTS_URL"):
        monkeypatch.delenv(name, raising=False)


def _use(monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    monkeypatch.setenv("POMAR_DATA_DIR", str(data))


def test_export_import_and_rerun_on_another_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = exact_model(tmp_path).path
    _use(monkeypatch, tmp_path / "sender")
    assert main(["check", str(model), "--quiet", "--iterations", "2", "--warmup", "0"]) == 0
    (job,) = open_store(f"sqlite:///{tmp_path / 'sender' / 'pomar.sqlite3'}").list_jobs()
    bundle = tmp_path / "repro.tar.gz"
    assert main(["export", job.job_id, str(bundle)]) == 0
    assert f"wrote {bundle}: job {job.job_id}, 1 run(s)" in capsys.readouterr().out

    _use(monkeypatch, tmp_path / "recipient")
    assert main(["import", str(bundle)]) == 0
    assert f"imported job {job.job_id} with 1 finished run(s)" in capsys.readouterr().out
    assert main(["results", job.job_id]) == 0
    capsys.readouterr()
    assert main(["check", "--from-bundle", str(bundle), "--device", "emulated", "--quiet"]) == 0
    jobs = open_store(f"sqlite:///{tmp_path / 'recipient' / 'pomar.sqlite3'}").list_jobs()
    rerun = next(j for j in jobs if j.job_id != job.job_id)
    assert rerun.label == f"rerun of {job.job_id} from repro.tar.gz"
    assert rerun.reference == job.reference  # compared with the bundle's own reference


def test_a_hostile_bundle_and_a_check_without_a_model_are_one_line_bad_usage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(monkeypatch, tmp_path / "data")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"hello")
    assert main(["import", str(junk)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "is not a usable Pomar repro bundle" in err
    assert main(["check"]) == 2
    assert "give a MODEL or --from-bundle PATH" in capsys.readouterr().err
