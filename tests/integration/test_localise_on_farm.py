"""Localisation through the whole farm: real Redis, ``pomar coordinator`` and ``pomar agent``
processes, a fake iPhone whose GPU gets the activation after a residual add wrong. The
coordinator localises the failure by itself; the CLI and the reports show which op."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.check_job import CheckRequest, prepare_job
from orchestrator.intake import ConversionOptions
from orchestrator.localise.graph import graph_of
from orchestrator.localise.variant import read_program
from pomar_core.model_archive import unpack_model
from pomar_core.wire import ComputeUnit, DeviceSelector, LocalisationStatus, RunConfig, RunStatus
from tests.integration.conftest import FarmProcesses, wait_for
from tests.integration.test_fake_iphones import start_agent
from tests.orchestrator.localise.picks import residual_relu

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PHONE = "00008110-LOCALISEFARM0000A"
MODELS = Path(__file__).parents[1] / "orchestrator" / "localise" / "models.py"


def test_the_coordinator_localises_an_engine_bug_and_every_report_names_the_op(
    farm_procs: FarmProcesses, tmp_path: Path
) -> None:
    farm = farm_procs.client()
    request = CheckRequest(
        model=f"{MODELS}:build_residual",
        conversion=ConversionOptions(),
        config=RunConfig(compute_units=(ComputeUnit.GPU,), warmup=0, iterations=1),
        target=DeviceSelector(device_ids=(PHONE,)),
    )
    job = prepare_job(request, farm.artifacts, tmp_path / "cache").job
    program = read_program(unpack_model(farm.artifacts, job.model, tmp_path / "cache"))[1]
    graph = graph_of(program.functions["main"])
    culprit = residual_relu(graph, 1)

    farm_procs.coordinator()
    bug = {PHONE: {"engine_bug_op": culprit, "engine_bug_unit": "gpu"}}
    start_agent(farm_procs, bug)
    wait_for("the phone to heartbeat", lambda: PHONE in farm.liveness.live())
    farm.coordinator.submit(job)

    def localised() -> bool:
        runs = farm.store.list_runs(job.job_id)
        loc = runs[0].result.localisation if runs and runs[0].result else None
        return loc is not None and loc.status.finished

    wait_for("the failing run to be localised", localised, timeout_s=180)
    run = farm.store.list_runs(job.job_id)[0]
    assert run.status is RunStatus.PARITY_FAILED

    shown = farm_procs.cli("localise", run.run_id, "--show", "--json")
    assert shown.returncode == 0, shown.stderr
    loc = json.loads(shown.stdout)
    assert loc["status"] == LocalisationStatus.FOUND.value
    assert (loc["culprit"]["op"], loc["culprit"]["op_type"]) == (culprit, "relu")
    assert len(loc["probes"]) <= loc["max_runs"]

    report = farm_procs.cli("report", job.job_id, "--junit", str(tmp_path / "r.xml"))
    assert report.returncode == 1, report.stderr  # the run failed parity
    assert f"localised to '{culprit}' (relu)" in report.stdout
    assert f"localised to '{culprit}' (relu)" in (tmp_path / "r.xml").read_text()
