"""`pomar localise` embedded: the probes run on the local device that ran the failing run; a
failure that is FP16 loss is said to be so (no op, no device run); runs that cannot be
localised are one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.reports import read_json
from pomar.cli import main
from pomar_core.wire import RunStatus

MODELS = Path(__file__).resolve().parents[2] / "orchestrator" / "localise" / "models.py"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    monkeypatch.setenv("POMAR_DATA_DIR", str(directory))
    for name in ("POMAR_BROKER_URL", "POMAR_STORE_URL", "POMAR_ARTIFACTS_URL"):
        monkeypatch.delenv(name, raising=False)
    return directory


def _check(model: str, out: Path) -> str:
    main(["check", f"{MODELS}:{model}", "--iterations", "1", "--warmup", "0", "--json", str(out)])
    return read_json(out).results[0].run_id


@pytest.mark.slow
def test_an_fp16_loss_on_the_emulator_is_not_blamed_on_an_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _check("build_cancellation", tmp_path / "r.json")
    assert read_json(tmp_path / "r.json").results[0].status is RunStatus.PARITY_FAILED
    capsys.readouterr()

    assert main(["localise", run_id]) == 0
    out = capsys.readouterr().out
    assert "localisation not_localised after 0 device runs" in out
    assert "precision loss, no op to blame" in out

    assert main(["localise", run_id, "--show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["status"], shown["probes"], shown["culprit"]) == ("not_localised", [], None)

    assert main(["results", read_json(tmp_path / "r.json").results[0].job_id]) == 1
    assert "localisation not_localised" in capsys.readouterr().out


@pytest.mark.slow
def test_a_passed_run_an_unknown_run_and_an_idle_cancel_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _check("build_residual", tmp_path / "r.json")
    assert read_json(tmp_path / "r.json").results[0].status is RunStatus.PASSED
    capsys.readouterr()

    assert main(["localise", run_id]) == 2
    assert "only a parity failure can be localised" in capsys.readouterr().err
    assert main(["localise", "run-nope"]) == 2
    assert "no finished run run-nope" in capsys.readouterr().err
    assert main(["localise", "run-nope", "--show"]) == 2
    assert "has no localisation" in capsys.readouterr().err


@pytest.mark.slow
def test_embedded_the_probes_run_on_the_local_phone_and_the_op_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.devices.ios.device import IosDevice
    from agent.devices.ios.fake import FAST_CONFIG, FakeIPhone, FakeScenario, FakeTransport
    from orchestrator.intake import intake_model
    from orchestrator.localise.graph import graph_of
    from orchestrator.localise.variant import read_program
    from pomar_core.artifact_stores.local import LocalArtifactStore
    from tests.orchestrator.localise.picks import residual_relu

    model = f"{MODELS}:build_residual"
    scratch = intake_model(model, LocalArtifactStore(tmp_path / "scratch"), tmp_path / "cache")
    culprit = residual_relu(graph_of(read_program(scratch.path)[1].functions["main"]), 0)
    udid = "00008120-EMBEDDEDPHONE0001"
    phone = FakeIPhone(udid, scenario=FakeScenario(engine_bug_op=culprit))
    local = [IosDevice(FakeTransport([phone]).open(udid), FAST_CONFIG)]
    monkeypatch.setattr("pomar.check_run.local_devices", lambda ids: local)
    monkeypatch.setattr("pomar.localise_run.local_devices", lambda ids: local)
    out = tmp_path / "r.json"
    args = ["--device", udid, "--compute-units", "gpu", "--iterations", "1", "--warmup", "0"]
    assert main(["check", model, *args, "--json", str(out)]) == 1
    run_id = read_json(out).results[0].run_id
    capsys.readouterr()

    assert main(["localise", run_id, "--json"]) == 0
    loc = json.loads(capsys.readouterr().out)

    assert loc["status"] == "found"
    assert (loc["culprit"]["op"], loc["culprit"]["op_type"]) == (culprit, "relu")
    assert 1 <= len(loc["probes"]) <= loc["max_runs"]
