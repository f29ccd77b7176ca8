"""``pomar check`` as one call: embedded (this host's devices wired into orchestrator's
:class:`~orchestrator.embedded.EmbeddedFarm`) or on the farm ``POMAR_BROKER_URL`` names.

It lives under ``pomar/`` because the embedded path composes both sides: agent devices and the
orchestrator's coordinator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.device import Device
from agent.local import local_devices, local_executors
from orchestrator.check_job import (
    CheckRequest,
    OnUpdate,
    PreparedJob,
    Progress,
    prepare_job,
    wait_for_runs,
)
from orchestrator.embedded import EmbeddedFarm
from orchestrator.farm import connect
from orchestrator.farm_check import run_on_farm
from orchestrator.preflight import Severity
from orchestrator.reports import ResultsDocument
from orchestrator.store import RunRecord
from orchestrator.stores import open_store
from pomar_core.artifact_stores import open_artifacts
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import UsageError
from pomar_core.settings import Settings
from pomar_core.wire import DeviceSelector, JobSpec, RunResult


@dataclass(frozen=True)
class CheckOutcome:
    """A finished check: the job as prepared, its results document, and the artifact store
    holding the runs' arrays (the reports' histograms read them from there)."""

    prepared: PreparedJob
    document: ResultsDocument
    artifacts: ArtifactStore

    @property
    def warnings(self) -> list[tuple[str, str]]:
        """What the user should see besides the table, as (source, text): the input set's
        warnings (``warning``) and preflight's (``preflight``)."""
        notes = [("warning", w) for w in self.prepared.job.inputs.warnings]
        for finding in self.prepared.preflight.findings:
            if finding.severity is Severity.WARNING:
                where = f" at {finding.op}" if finding.op else ""
                notes.append(("preflight", f"{finding.id}{where}: {finding.message}"))
        return notes


def run_check(
    settings: Settings,
    request: CheckRequest,
    progress: Progress = lambda _: None,
    on_update: OnUpdate = lambda _: None,
) -> CheckOutcome:
    """Prepare the job, run it embedded or on the farm, and collect the results document."""
    cache = settings.data_dir / "cache"
    if settings.embedded:
        artifacts = open_artifacts(settings)
        prepared, records = _run_embedded(settings, request, artifacts, cache, progress, on_update)
    else:
        farm = connect(settings)
        artifacts = farm.artifacts
        prepared, records = run_on_farm(farm, request, cache, progress, on_update)
    document = ResultsDocument.of(
        [_result_of(r) for r in records],
        job=prepared.job,
        reference=prepared.reference,
        preflight=prepared.preflight,
    )
    return CheckOutcome(prepared, document, artifacts)


def _run_embedded(
    settings: Settings,
    request: CheckRequest,
    artifacts: ArtifactStore,
    cache: Path,
    progress: Progress,
    on_update: OnUpdate,
) -> tuple[PreparedJob, list[RunRecord]]:
    """Everything in this process: the coordinator and one worker per local device."""
    selected = embedded_devices(request.target)
    prepared = prepare_job(request, artifacts, cache, progress)
    records = run_embedded_job(
        settings, prepared.job, artifacts, cache, selected, progress, on_update
    )
    return prepared, records


def embedded_devices(target: DeviceSelector) -> list[Device]:
    """The local devices ``target`` names; a ``UsageError`` for selectors only a farm has."""
    if target.pools or target.every_pool_once or target.min_os_version or target.max_os_version:
        raise UsageError(
            "--pool, --every-pool, --min-os and --max-os choose farm devices",
            hint="set POMAR_BROKER_URL to run on a farm, or pick local devices with --device",
        )
    return local_devices(target.device_ids)


def run_embedded_job(
    settings: Settings,
    job: JobSpec,
    artifacts: ArtifactStore,
    cache: Path,
    devices: list[Device],
    progress: Progress,
    on_update: OnUpdate,
) -> list[RunRecord]:
    """Run a prepared job on ``devices`` in this process and wait for every run."""
    store = open_store(settings.resolved_store_url)
    with EmbeddedFarm(store, artifacts, local_executors(devices, artifacts, cache)) as farm:
        runs = farm.coordinator.submit(job, [d.info for d in devices])
        progress(f"running {len(runs)} run(s)")
        return wait_for_runs(store, job.job_id, timeout_s=job.config.timeout_s, on_update=on_update)


def _result_of(record: RunRecord) -> RunResult:
    if record.result is None:  # cancelled before any result
        raise UsageError(f"run {record.run_id} has no result ({record.status.value})")
    return record.result
