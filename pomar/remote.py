"""The CLI's remote mode: with ``POMAR_SERVER_URL`` and ``POMAR_TOKEN`` set, the farm commands
go through ``pomar serve`` (:class:`~pomar.client.PomarClient`) and print what they print
locally, with the same exit codes. No broker or store credentials are needed here.

The model and inputs are uploaded by content (a cached model moves no bytes) and the server
prepares the job (preflight, conversion, the desktop reference). A Python factory is refused:
it would run this host's code on the server.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.check_job import CheckRequest, OnUpdate, Progress
from orchestrator.preflight import PreflightReport, Severity
from orchestrator.reports import ResultsDocument, StoredJob
from orchestrator.server.schemas import ModelUpload, SubmitRequest
from orchestrator.store import RunRecord
from pomar_core.artifacts import sha256_file
from pomar_core.errors import ArtifactNotFound, StoreError, UsageError
from pomar_core.extras import require_extra
from pomar_core.settings import Settings
from pomar_core.wire import RunResult

if TYPE_CHECKING:
    from pomar.client import PomarClient

Warnings = list[tuple[str, str]]


def connect_remote(settings: Settings) -> PomarClient:
    """The client of the server ``settings`` name; ``UsageError`` without a token."""
    require_extra("serve", "httpx")
    from pomar.client import PomarClient

    if not settings.server_url:
        raise UsageError("POMAR_SERVER_URL is not set", hint="export POMAR_SERVER_URL=https://…")
    if not settings.token:
        raise UsageError(
            "POMAR_SERVER_URL is set but POMAR_TOKEN is not",
            hint="export POMAR_TOKEN=… (an admin makes one with `pomar token create`)",
        )
    return PomarClient(settings.server_url, settings.token)


class RemoteArtifacts:
    """The server's artifacts, read-only, fetched once into a local cache: the HTML report's
    histograms read a run's arrays through this exactly as they do from a local store."""

    def __init__(self, client: PomarClient, cache_dir: Path) -> None:
        self.client = client
        self.cache_dir = cache_dir

    def put_bytes(self, data: bytes) -> str:
        raise StoreError("the server's artifacts are read-only here", hint="upload with submit")

    def put_file(self, path: Path) -> str:
        return self.put_bytes(b"")

    def get_bytes(self, sha256: str) -> bytes:
        return self.local_path(sha256).read_bytes()

    def local_path(self, sha256: str) -> Path:
        path = self.cache_dir / sha256[:2] / sha256
        if path.is_file():
            return path
        data = self.client.blob(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        if sha256_file(Path(tmp)) != sha256:
            os.unlink(tmp)
            raise ArtifactNotFound(f"artifact {sha256[:12]} came back corrupt from the server")
        os.replace(tmp, path)
        return path

    def exists(self, sha256: str) -> bool:
        return (self.cache_dir / sha256[:2] / sha256).is_file() or not self.client.missing([sha256])


def artifacts_of(settings: Settings, client: PomarClient) -> RemoteArtifacts:
    return RemoteArtifacts(client, settings.data_dir / "cache" / "remote-artifacts")


def submit_request(client: PomarClient, request: CheckRequest, priority: int = 5) -> SubmitRequest:
    """Upload what the server lacks of the model and inputs; the request naming them."""
    path = Path(request.model)
    if not path.exists():
        if ":" in request.model:
            raise UsageError(
                f"{request.model} is a Python factory, which a Pomar server does not run",
                hint="save the model (torch.jit.save, torch.export.save, or an .mlpackage) "
                "and submit the file",
            )
        raise UsageError(f"{request.model} does not exist", hint="check the path")
    model: ModelUpload = client.upload_model(path, name=request.model)
    inputs = None
    if request.inputs_path is not None:
        inputs = client.upload_inputs(request.inputs_path)
    return SubmitRequest(
        model=model,
        inputs=inputs,
        inputs_name=str(request.inputs_path) if request.inputs_path else None,
        seed=request.seed,
        config=request.config,
        target=request.target,
        conversion=request.conversion,
        label=request.label,
        priority=priority,
        iphone_product_types=request.iphone_product_types,
    )


def _result_of(record: RunRecord) -> RunResult:
    if record.result is None:  # cancelled before any result
        raise UsageError(f"run {record.run_id} has no result ({record.status.value})")
    return record.result


def _warnings(inputs: tuple[str, ...], preflight: PreflightReport | None) -> Warnings:
    notes = [("warning", w) for w in inputs]
    for finding in preflight.findings if preflight else ():
        if finding.severity is Severity.WARNING:
            where = f" at {finding.op}" if finding.op else ""
            notes.append(("preflight", f"{finding.id}{where}: {finding.message}"))
    return notes


def remote_check(
    settings: Settings, request: CheckRequest, progress: Progress, on_update: OnUpdate
) -> tuple[ResultsDocument, RemoteArtifacts, Warnings]:
    """``pomar check`` through the server: upload, submit, wait, and the same document."""
    target = request.target
    if not (target.device_ids or target.pools or target.every_pool_once or target.kinds):
        raise UsageError(
            "on a farm, `pomar check` needs devices to run on",
            hint="pass --device ID, --pool NAME, --kind ios or --every-pool (see `pomar pools`)",
        )
    client = connect_remote(settings)
    progress("uploading the model")
    submission = client.submit(submit_request(client, request))
    progress("preparing the job on the server")
    submitted = client.wait_submitted(submission.submission_id)
    assert submitted.job_id is not None
    progress(f"running {len(submitted.runs)} run(s) on the farm")
    records = client.wait_for_job(
        submitted.job_id,
        timeout_s=request.config.timeout_s * max(1, len(submitted.runs)),
        on_update=on_update,
    )
    job = client.job(submitted.job_id)
    document = ResultsDocument.of(
        [_result_of(r) for r in records], job=job, preflight=submitted.preflight
    )
    warnings = _warnings(job.inputs.warnings, submitted.preflight)
    return document, artifacts_of(settings, client), warnings


def remote_submit(
    settings: Settings, request: CheckRequest, priority: int
) -> tuple[str, list[str]]:
    """Submit and wait until queued: the job id and its run ids."""
    client = connect_remote(settings)
    submission = client.submit(submit_request(client, request, priority))
    submitted = client.wait_submitted(submission.submission_id)
    assert submitted.job_id is not None
    return submitted.job_id, list(submitted.runs)


def remote_wait(settings: Settings, job_id: str, timeout_s: float) -> list[RunRecord]:
    return connect_remote(settings).wait_for_job(job_id, timeout_s=timeout_s)


def remote_runs(settings: Settings, job_id: str) -> list[RunRecord]:
    return connect_remote(settings).runs(job_id)


def remote_jobs(settings: Settings, limit: int) -> list[dict[str, object]]:
    """Recent jobs as ``pomar status`` lists them: id, label, model, then runs by status."""
    return [
        {"job_id": j.job_id, "label": j.label, "model": j.model, **j.counts}
        for j in connect_remote(settings).jobs(limit)
    ]


def remote_stored(
    settings: Settings,
    job_id: str,
    *,
    baseline_id: str | None = None,
    nightly_label: str | None = None,
) -> tuple[StoredJob, RemoteArtifacts]:
    """The job's results document as the server's store has it, and its artifacts."""
    client = connect_remote(settings)
    served = client.results(job_id, baseline=baseline_id, last_nightly=nightly_label)
    return StoredJob(served.document, served.waiting), artifacts_of(settings, client)


def remote_cancel(settings: Settings, job_id: str) -> int:
    return connect_remote(settings).cancel(job_id)


def remote_device_rows(settings: Settings) -> list[dict[str, object]]:
    """``pomar devices`` rows (as :func:`orchestrator.fleet.device_rows` makes them)."""
    rows = []
    for device in connect_remote(settings).devices():
        row: dict[str, object] = device.model_dump()
        row["pools"] = list(device.pools)
        row["last_heartbeat"] = device.last_heartbeat.isoformat()
        rows.append(row)
    return rows
