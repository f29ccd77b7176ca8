"""The coordinator: expands jobs into runs, routes them, and records what agents report.

It owns the store. Recording is idempotent by run id: a duplicate delivery, or a result for an
unknown or cancelled run, changes nothing and leaves a log line.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from celery import Celery

from orchestrator.artifacts import ArtifactStore
from orchestrator.celery_app import device_queue, send_run
from orchestrator.errors import SelectorError
from orchestrator.judge import judge
from orchestrator.store import JobStore
from orchestrator.wire import DeviceInfo, JobSpec, RunResult, RunSpec

log = logging.getLogger(__name__)


def expand_job(job: JobSpec, devices: Sequence[DeviceInfo]) -> list[tuple[RunSpec, str]]:
    """One run per (device, compute unit) the device supports, each with its queue."""
    runs: list[tuple[RunSpec, str]] = []
    for device in devices:
        for unit in job.config.compute_units:
            if unit not in device.compute_units:
                continue
            spec = RunSpec(
                run_id=f"{job.job_id}-{uuid.uuid4().hex[:10]}",
                job_id=job.job_id,
                device_id=device.udid,
                compute_unit=unit,
                model=job.model,
                inputs=job.inputs,
                config=job.config,
            )
            runs.append((spec, device_queue(device.udid)))
    if not runs:
        units = ",".join(u.value for u in job.config.compute_units)
        names = ", ".join(d.udid for d in devices) or "none"
        raise SelectorError(
            f"no selected device supports compute units {units} (devices: {names})",
            hint="choose other --compute-units or another --device",
        )
    return runs


class Coordinator:
    """Submits jobs and records results (the ``ResultRecorder`` of the results worker)."""

    def __init__(self, store: JobStore, artifacts: ArtifactStore, app: Celery) -> None:
        self.store = store
        self.artifacts = artifacts
        self.app = app

    def submit(self, job: JobSpec, devices: Sequence[DeviceInfo]) -> list[RunSpec]:
        """Save the job and its runs, then enqueue them. The store is written first, so a
        broker that loses a message cannot lose a run."""
        runs = expand_job(job, devices)
        self.store.add_job(job, runs)
        for spec, queue in runs:
            send_run(self.app, spec, queue)
        return [spec for spec, _ in runs]

    def run_started(self, run_id: str, device_udid: str) -> None:
        if not self.store.mark_running(run_id, device_udid):
            log.info("run %s started on %s but is not queued; ignoring", run_id, device_udid)

    def record(self, result: RunResult) -> None:
        record = self.store.get_run(result.run_id)
        if record is None:
            log.warning("result for unknown run %s ignored", result.run_id)
            return
        if record.status.finished:
            log.info("result for run %s ignored: already %s", result.run_id, record.status.value)
            return
        job = self.store.get_job(result.job_id)
        judged = judge(result, job, self.artifacts)
        if not self.store.record_result(judged):
            log.info("result for run %s was recorded concurrently; ignoring", result.run_id)
