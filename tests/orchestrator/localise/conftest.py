"""A one-phone farm for localisation tests: the real coordinator, store and Celery tasks on the
in-memory transport, a fake iPhone behind the real iOS device and run executor."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from agent.devices.ios.device import IosDevice
from agent.devices.ios.fake import (
    FAST_CONFIG,
    FakeIPhone,
    FakeScenario,
    FakeTransport,
    Predictor,
)
from agent.executor import DeviceRunExecutor
from orchestrator.check_job import CheckRequest, prepare_job
from orchestrator.embedded import EmbeddedFarm
from orchestrator.intake import ConversionOptions
from orchestrator.localise import LocalisePolicy, Localiser
from orchestrator.localise.graph import ProgramGraph, graph_of
from orchestrator.localise.variant import read_program
from orchestrator.store import RunRecord
from orchestrator.stores.memory import MemoryJobStore
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.model_archive import unpack_model
from pomar_core.wire import ComputeUnit, DeviceSelector, JobSpec, Localisation, RunConfig

pytest.importorskip("coremltools")

UDID = "00008120-LOCALISE00000001"
MODELS = Path(__file__).with_name("models.py")


def wait_for(what: str, predicate: Callable[[], Any], timeout_s: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


@dataclass
class PhoneFarm:
    root: Path
    store: MemoryJobStore
    artifacts: LocalArtifactStore
    phone: FakeIPhone
    farm: EmbeddedFarm
    localiser: Localiser

    def job(self, factory: str, unit: ComputeUnit = ComputeUnit.GPU) -> JobSpec:
        request = CheckRequest(
            model=f"{MODELS}:{factory}",
            conversion=ConversionOptions(),
            config=RunConfig(compute_units=(unit,), warmup=0, iterations=1),
            target=DeviceSelector(device_ids=(UDID,)),
        )
        return prepare_job(request, self.artifacts, self.root / "models").job

    def bugged_job(
        self, factory: str, pick: Callable[[ProgramGraph], str], unit: ComputeUnit = ComputeUnit.GPU
    ) -> tuple[JobSpec, ProgramGraph, str]:
        """A job of ``factory`` on ``unit``, and the phone's GPU now gets ``pick``'s op wrong."""
        job = self.job(factory, unit)
        graph = self.graph(job)
        culprit = pick(graph)
        self.script(engine_bug_op=culprit, engine_bug_unit="gpu")
        return job, graph, culprit

    def graph(self, job: JobSpec) -> ProgramGraph:
        path = unpack_model(self.artifacts, job.model, self.root / "models")
        return graph_of(read_program(path)[1].functions["main"])

    def failing_run(self, job: JobSpec) -> RunRecord:
        self.farm.coordinator.submit(job)
        runs = wait_for(
            "the run to finish",
            lambda: [r for r in self.store.list_runs(job.job_id) if r.status.finished],
        )
        record: RunRecord = runs[0]
        return record

    def localisation(self, run_id: str) -> Localisation | None:
        record = self.store.get_run(run_id)
        return record.result.localisation if record and record.result else None

    def finished_localisation(self, run_id: str) -> Localisation:
        def done() -> Localisation | None:
            loc = self.localisation(run_id)
            return loc if loc is not None and loc.status.finished else None

        found: Localisation = wait_for("the localisation to finish", done)
        return found

    def script(self, **scenario: Any) -> None:
        self.phone.scenario = replace(self.phone.scenario, **scenario)


@pytest.fixture
def phone_farm(tmp_path: Path) -> Iterator[Callable[..., PhoneFarm]]:
    farms: list[EmbeddedFarm] = []
    localisers: list[Localiser] = []

    def make(
        max_runs: int = 12, auto: bool = True, predictor: Predictor | None = None, **scenario: Any
    ) -> PhoneFarm:
        store = MemoryJobStore()
        artifacts = LocalArtifactStore(tmp_path / "artifacts")
        phone = FakeIPhone(UDID, scenario=FakeScenario(**scenario), predictor=predictor)
        device = IosDevice(FakeTransport([phone]).open(UDID), FAST_CONFIG)
        executor = DeviceRunExecutor(device, artifacts, tmp_path / "device-cache")
        farm = EmbeddedFarm(store, artifacts, [executor])
        farm.__enter__()
        farms.append(farm)
        localiser = Localiser(
            farm.coordinator, tmp_path / "models", LocalisePolicy(max_runs=max_runs, auto=auto)
        )
        farm.coordinator.on_recorded.append(localiser.on_recorded)
        localisers.append(localiser)
        return PhoneFarm(tmp_path, store, artifacts, phone, farm, localiser)

    yield make
    for localiser in localisers:
        localiser.close()
    for farm in farms:
        farm.__exit__(None, None, None)
