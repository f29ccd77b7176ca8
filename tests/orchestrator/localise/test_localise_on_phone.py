"""A fake iPhone whose GPU gets one op wrong: the failing run is localised to that op, through
the coordinator, the Celery tasks and the device executor, within the run budget."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.devices.ios.fake import FakeScenario, emulator_predictor
from agent.devices.ios.fake.engine_bug import engine_bug_predictor
from pomar_core.arrays import Arrays
from pomar_core.wire import ComputeUnit, LocalisationStatus, RunStatus, TriageLabel
from tests.orchestrator.localise.conftest import PhoneFarm, wait_for
from tests.orchestrator.localise.picks import chain_op, residual_relu

pytestmark = pytest.mark.slow


def test_an_engine_bug_in_a_chain_is_localised_to_its_op_in_log2_n_runs(
    phone_farm: Callable[..., PhoneFarm],
) -> None:
    farm = phone_farm()
    job, _, culprit = farm.bugged_job("build_chain", lambda g: chain_op(g, 11))

    failing = farm.failing_run(job)
    assert failing.status is RunStatus.PARITY_FAILED
    assert failing.result is not None
    assert failing.result.parity is not None
    assert failing.result.parity.triage is TriageLabel.ENGINE_MISMATCH
    loc = farm.finished_localisation(failing.run_id)

    assert loc.status is LocalisationStatus.FOUND, loc.detail
    assert loc.culprit is not None
    assert loc.culprit.op == culprit
    assert loc.culprit.op_type == "sin"
    assert loc.culprit.output.diverged
    assert loc.culprit.inputs
    assert not any(e.diverged for e in loc.culprit.inputs)
    assert loc.device_runs <= math.ceil(math.log2(loc.cuts))
    probes = [r for p in loc.probes for r in farm.store.list_runs(p.job_id)]
    assert {r.result.device.udid for r in probes if r.result} == {failing.result.device.udid}
    assert {r.spec.compute_unit.value for r in probes} == {"gpu"}


def test_a_wrong_activation_after_a_residual_add_is_localised_on_the_branching_graph(
    phone_farm: Callable[..., PhoneFarm],
) -> None:
    farm = phone_farm()
    job, graph, culprit = farm.bugged_job("build_residual", lambda g: residual_relu(g, 1))

    failing = farm.failing_run(job)
    loc = farm.finished_localisation(failing.run_id)

    assert loc.status is LocalisationStatus.FOUND, loc.detail
    assert loc.culprit is not None
    assert (loc.culprit.op, loc.culprit.op_type) == (culprit, "relu")
    # linear → add → relu is one fused group: the last run exposed its inside on purpose.
    assert loc.probes[-1].split
    assert loc.device_runs <= loc.max_runs
    inputs = {e.name for e in loc.culprit.inputs}
    assert inputs == set(graph.ops[graph.op_index(culprit) or 0].inputs)


def test_the_same_job_on_the_cpu_passes_and_is_not_localised(
    phone_farm: Callable[..., PhoneFarm],
) -> None:
    farm = phone_farm()
    job, _, _ = farm.bugged_job("build_residual", lambda g: residual_relu(g, 1), ComputeUnit.CPU)

    run = farm.failing_run(job)

    assert run.status is RunStatus.PASSED
    assert farm.localisation(run.run_id) is None


def test_fp16_loss_is_not_localised_to_any_op(phone_farm: Callable[..., PhoneFarm]) -> None:
    farm = phone_farm()
    job = farm.job("build_cancellation")

    failing = farm.failing_run(job)
    assert failing.status is RunStatus.PARITY_FAILED
    assert failing.result is not None
    assert failing.result.parity is not None
    assert failing.result.parity.triage is TriageLabel.FP16_EXPECTED
    assert farm.localisation(failing.run_id) is None  # triage did not blame the engine
    loc = farm.localiser.start(failing.run_id)

    assert loc.status is LocalisationStatus.NOT_LOCALISED
    assert loc.culprit is None
    assert loc.device_runs == 0
    assert "precision loss" in loc.detail


def test_the_budget_stops_the_search_and_names_what_is_left(
    phone_farm: Callable[..., PhoneFarm],
) -> None:
    farm = phone_farm(max_runs=2)
    job, _, _ = farm.bugged_job("build_chain", lambda g: chain_op(g, 11))

    failing = farm.failing_run(job)
    loc = farm.finished_localisation(failing.run_id)

    assert loc.status is LocalisationStatus.BUDGET_EXHAUSTED
    assert loc.device_runs == 2
    assert loc.culprit is None
    assert "ops still suspected" in loc.detail


def test_cancelling_mid_localisation_leaves_the_failing_run_intact(
    phone_farm: Callable[..., PhoneFarm],
) -> None:
    farm = phone_farm(auto=False)
    job, _, _ = farm.bugged_job("build_chain", lambda g: chain_op(g, 3))
    failing = farm.failing_run(job)
    before = farm.store.get_run(failing.run_id)
    farm.script(run_delay_s=2.0)  # probes take a while: time to cancel one in flight

    started = farm.localiser.start(failing.run_id)
    probe_job = started.probes[0].job_id
    wait_for(
        "the probe to run",
        lambda: any(r.status is RunStatus.RUNNING for r in farm.store.list_runs(probe_job)),
    )
    cancelled = farm.localiser.cancel(failing.run_id)

    assert cancelled.status is LocalisationStatus.CANCELLED
    assert [r.status for r in farm.store.list_runs(probe_job)] == [RunStatus.CANCELLED]
    after = farm.store.get_run(failing.run_id)
    assert before is not None
    assert after is not None
    assert after.result is not None
    assert before.result is not None
    assert after.status is RunStatus.PARITY_FAILED
    assert after.result.parity == before.result.parity
    assert after.result.outputs == before.result.outputs
    assert after.result.model_copy(update={"localisation": None}) == before.result
    # The probe's late result changes nothing, and no further probe is sent.
    wait_for(
        "the probe's device run to end",
        lambda: (
            farm.phone.processes and all(p.exited.is_set() for p in farm.phone.processes.values())
        ),
    )
    loc = farm.localisation(failing.run_id)
    assert loc is not None
    assert loc.status is LocalisationStatus.CANCELLED
    assert loc.device_runs == 1


def test_a_device_that_drops_the_exposed_tensors_ends_the_search_with_an_error(
    phone_farm: Callable[..., PhoneFarm],
) -> None:
    def first_output_only(model_path: Path, inputs: Arrays, unit: str) -> Arrays:
        scenario = FakeScenario(engine_bug_op=farm.phone.scenario.engine_bug_op)
        buggy = engine_bug_predictor(scenario, unit) or emulator_predictor
        return dict(list(buggy(model_path, inputs, unit).items())[:1])

    farm = phone_farm(predictor=first_output_only)
    job, _, _ = farm.bugged_job("build_chain", lambda g: chain_op(g, 11))
    farm.script(engine_bug_unit="none")  # the predictor plays the bug itself

    failing = farm.failing_run(job)
    loc = farm.finished_localisation(failing.run_id)

    assert loc.status is LocalisationStatus.ERROR
    assert "the device did not expose it" in loc.detail
    assert loc.device_runs == 1


def test_a_probe_that_cannot_be_built_ends_the_search_instead_of_leaving_it_running(
    phone_farm: Callable[..., PhoneFarm], monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.localise import localiser
    from pomar_core.errors import ModelError

    real = localiser.store_variant
    built: list[int] = []

    def second_fails(*args: Any, **kwargs: Any) -> Any:
        built.append(1)
        if len(built) > 1:
            raise ModelError("cannot build the probe variant: simulated")
        return real(*args, **kwargs)

    monkeypatch.setattr(localiser, "store_variant", second_fails)
    farm = phone_farm()
    job, _, _ = farm.bugged_job("build_chain", lambda g: chain_op(g, 11))

    loc = farm.finished_localisation(farm.failing_run(job).run_id)

    assert loc.status is LocalisationStatus.ERROR
    assert "simulated" in loc.detail
    assert loc.device_runs == 1


def test_a_device_that_accumulates_in_half_everywhere_is_not_blamed_on_one_op(
    phone_farm: Callable[..., PhoneFarm],
) -> None:
    def half_accumulation(model_path: Path, inputs: Arrays, unit: str) -> Arrays:
        import coreml_emulator

        return coreml_emulator.predict(model_path, inputs, precision="fp16-strict")

    farm = phone_farm(predictor=half_accumulation, auto=False)
    failing = farm.failing_run(farm.job("build_cancellation"))
    assert failing.status is RunStatus.PARITY_FAILED

    loc = farm.localiser.start(failing.run_id)

    assert loc.status is LocalisationStatus.NOT_LOCALISED, loc.detail
    assert loc.culprit is None
    assert loc.device_runs == 0
