"""Localisation through the whole farm: real Redis, ``pomar coordinator`` and ``pomar agent``
processes, a fake iPhone whose GPU gets the activation after a residual add wrong. The
coordinator localises the failure by itself; the CLI and the reports show which op."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.check_job import CheckRequest, prepare_job
from orchestrator.farm import Farm
from orchestrator.intake import ConversionOptions
from orchestrator.localise import current_localisation
from orchestrator.localise.graph import ProgramGraph, graph_of
from orchestrator.localise.variant import read_program
from pomar_core.model_archive import unpack_model
from pomar_core.wire import (
    ComputeUnit,
    DeviceSelector,
    JobSpec,
    LocalisationStatus,
    RunConfig,
    RunStatus,
)
from tests.integration.conftest import LOST_AFTER_S, TICK_S, FarmProcesses, wait_for
from tests.integration.test_fake_iphones import start_agent
from tests.orchestrator.localise.picks import residual_relu

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PHONE = "00008110-LOCALISEFARM0000A"
MODELS = Path(__file__).parents[1] / "orchestrator" / "localise" / "models.py"


def bugged_farm(
    farm_procs: FarmProcesses, tmp_path: Path, *, auto: bool = True
) -> tuple[Farm, JobSpec, str]:
    """Coordinator and agent processes, the phone's GPU getting the second residual relu
    wrong, and a job of the residual model on it; ``auto`` as ``POMAR_LOCALISE_AUTO``."""
    farm = farm_procs.client()
    job, graph = residual_job(farm, tmp_path)
    culprit = residual_relu(graph, 1)
    args = ["coordinator", "--tick", str(TICK_S), "--lost-after", str(LOST_AFTER_S)]
    farm_procs.start("coordinator", args, POMAR_LOCALISE_AUTO="1" if auto else "0")
    start_agent(farm_procs, {PHONE: {"engine_bug_op": culprit, "engine_bug_unit": "gpu"}})
    wait_for("the phone to heartbeat", lambda: PHONE in farm.liveness.live())
    return farm, job, culprit


def residual_job(farm: Farm, tmp_path: Path) -> tuple[JobSpec, ProgramGraph]:
    """The residual model on the phone's GPU, and its program's graph."""
    request = CheckRequest(
        model=f"{MODELS}:build_residual",
        conversion=ConversionOptions(),
        config=RunConfig(compute_units=(ComputeUnit.GPU,), warmup=0, iterations=1),
        target=DeviceSelector(device_ids=(PHONE,)),
    )
    job = prepare_job(request, farm.artifacts, tmp_path / "cache").job
    program = read_program(unpack_model(farm.artifacts, job.model, tmp_path / "cache"))[1]
    return job, graph_of(program.functions["main"])


def test_the_coordinator_localises_an_engine_bug_and_every_report_names_the_op(
    farm_procs: FarmProcesses, tmp_path: Path
) -> None:
    farm, job, culprit = bugged_farm(farm_procs, tmp_path)
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


def test_cancelling_from_the_cli_stops_the_probes_and_leaves_the_failing_run_intact(
    farm_procs: FarmProcesses, tmp_path: Path
) -> None:
    # Not by itself: this test starts the localisation once the phone is held.
    farm, job, _ = bugged_farm(farm_procs, tmp_path, auto=False)
    (failing_spec,) = farm.coordinator.submit(job)
    wait_for("the run to fail", lambda: run_status(farm, failing_spec.run_id).finished)
    farm_procs.hold(PHONE)  # the probes wait at the phone
    started = farm_procs.cli("localise", failing_spec.run_id, "--no-wait")
    assert started.returncode == 0, started.stderr

    def one_probe_waiting() -> bool:
        loc = current_localisation(farm.store, failing_spec.run_id)
        return loc is not None and loc.device_runs == 1

    wait_for("the first probe to be sent", one_probe_waiting, timeout_s=120)
    before = farm.store.get_run(failing_spec.run_id)
    cancelled = farm_procs.cli("localise", failing_spec.run_id, "--cancel")
    farm_procs.release(PHONE)

    assert cancelled.returncode == 0, cancelled.stderr
    assert "localisation cancelled after 1 device run" in cancelled.stdout
    loc = current_localisation(farm.store, failing_spec.run_id)
    assert loc is not None
    assert loc.status is LocalisationStatus.CANCELLED
    probe_runs = farm.store.list_runs(loc.probes[0].job_id)
    assert [r.status for r in probe_runs] == [RunStatus.CANCELLED]
    after = farm.store.get_run(failing_spec.run_id)
    assert before is not None
    assert after is not None
    assert after.status is RunStatus.PARITY_FAILED
    assert after.result is not None
    assert before.result is not None
    assert after.result.model_copy(update={"localisation": None}) == before.result.model_copy(
        update={"localisation": None}
    )


def run_status(farm: Farm, run_id: str) -> RunStatus:
    record = farm.store.get_run(run_id)
    assert record is not None
    return record.status
