"""A Python client of ``pomar serve``: what the CLI's remote mode uses, and what teams script.

    client = PomarClient("https://pomar.example:8700", token)
    model = client.upload_model(Path("cnn.mlpackage"))      # moves 0 bytes when cached
    sub = client.submit(SubmitRequest(model=model, target=DeviceSelector(pools=("a17",))))
    job_id = client.wait_submitted(sub.submission_id).job_id
    client.wait_for_job(job_id)
    document = client.results(job_id).document               # the CLI's ResultsDocument

HTTP errors come back as Pomar's errors, so the CLI prints one line and exits as it would
locally: 401/403/404/409/413/422 are usage errors (2), an unreachable or failing server
infrastructure (3).
"""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from orchestrator.check_job import wait_for_runs
from orchestrator.server.schemas import (
    Cancelled,
    DeviceView,
    JobResults,
    JobSummary,
    MissingResponse,
    ModelUpload,
    PoolView,
    Series,
    Submission,
    SubmissionState,
    SubmitRequest,
)
from orchestrator.store import RunRecord, Schedule
from pomar_core.artifacts import sha256_file
from pomar_core.errors import InfrastructureError, PomarError, RunTimeoutError, UsageError
from pomar_core.model_archive import write_package_zip
from pomar_core.wire import JobSpec

M = TypeVar("M", bound=BaseModel)
OnRuns = Callable[[list[RunRecord]], None]


class RemoteError(UsageError):
    """The server refused the request (4xx); ``status`` and ``field`` say what and where."""

    def __init__(self, message: str, *, status: int, field: str | None, hint: str | None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.field = field


class RemoteFailure(InfrastructureError):
    """The server could not be reached or failed (5xx)."""


class PomarClient:
    """The API of one server, with one token. ``http`` replaces the HTTP client (tests pass
    Starlette's ``TestClient``)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout_s: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout_s)
        self._headers = {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PomarClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        try:
            response = self._http.request(method, f"/api/v1{path}", headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise RemoteFailure(
                f"cannot reach the Pomar server at {self.base_url}: {exc.__class__.__name__}",
                hint="check POMAR_SERVER_URL and that `pomar serve` is running",
            ) from exc
        if response.status_code >= 400:
            raise _error_of(response, self.base_url)
        return response

    def _get(self, path: str, into: type[M], **params: Any) -> M:
        return into.model_validate_json(self._request("GET", path, params=_clean(params)).content)

    def _list(self, path: str, item: Any, **params: Any) -> Any:
        content = self._request("GET", path, params=_clean(params)).content
        return TypeAdapter(list[item]).validate_json(content)

    # -- uploads -------------------------------------------------------------------------

    def missing(self, hashes: list[str]) -> list[str]:
        """Which of ``hashes`` the server lacks."""
        response = self._request("POST", "/blobs/missing", json={"sha256": hashes})
        return list(MissingResponse.model_validate_json(response.content).missing)

    def upload_file(self, path: Path, kind: str | None = None) -> tuple[str, bool]:
        """Upload ``path`` unless the server has its bytes; (sha256, whether bytes moved)."""
        sha = sha256_file(path)
        if not self.missing([sha]):
            return sha, False
        with path.open("rb") as body:
            self._request(
                "PUT",
                f"/blobs/{sha}",
                content=body,
                params={"kind": kind} if kind else None,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(path.stat().st_size),
                },
            )
        return sha, True

    def upload_model(self, model: Path, name: str | None = None) -> ModelUpload:
        """Upload a model by content: an ``.mlpackage`` directory as Pomar's deterministic zip
        (equal packages, equal hashes), any model file as its bytes."""
        shown = name or str(model)
        if not model.exists():
            raise UsageError(f"{model} does not exist", hint="check the path")
        if model.is_dir():
            with tempfile.TemporaryDirectory(prefix="pomar-upload-") as tmp:
                archive = Path(tmp) / "model.zip"
                write_package_zip(model, archive)
                sha, _ = self.upload_file(archive, "mlpackage")
            return ModelUpload(sha256=sha, packing="mlpackage", name=shown)
        sha, _ = self.upload_file(model, "file")
        return ModelUpload(sha256=sha, packing="file", name=shown, suffix=model.suffix[:13])

    def blob(self, sha256: str) -> bytes:
        """An artifact's bytes (a run's output array, the reference, the model)."""
        return self._request("GET", f"/blobs/{sha256}").content

    def upload_inputs(self, path: Path) -> str:
        if not path.is_file():
            raise UsageError(f"{path} does not exist", hint="check the --inputs path")
        return self.upload_file(path, "npz")[0]

    # -- jobs ----------------------------------------------------------------------------

    def submit(self, request: SubmitRequest, idempotency_key: str | None = None) -> Submission:
        """Submit; a retry with the same ``idempotency_key`` returns the same submission."""
        key = idempotency_key or uuid.uuid4().hex
        response = self._request(
            "POST",
            "/submissions",
            content=request.model_dump_json(),
            headers={"Content-Type": "application/json", "Idempotency-Key": key},
        )
        return Submission.model_validate_json(response.content)

    def submission(self, submission_id: str) -> Submission:
        return self._get(f"/submissions/{submission_id}", Submission)

    def wait_submitted(
        self, submission_id: str, *, timeout_s: float = 3600.0, poll_s: float = 0.2
    ) -> Submission:
        """Poll until the job is prepared and queued; a failed preparation is raised as the
        error it was (same message, same exit code)."""
        deadline = time.monotonic() + timeout_s
        while True:
            sub = self.submission(submission_id)
            if sub.state is SubmissionState.SUBMITTED:
                return sub
            if sub.state is SubmissionState.FAILED:
                raise _prepared_error(sub)
            if time.monotonic() > deadline:
                raise RunTimeoutError(
                    f"submission {submission_id} was not prepared within {timeout_s:.0f}s",
                    hint="the server may be busy converting: check it later",
                )
            time.sleep(poll_s)

    def jobs(self, limit: int = 20, **filters: Any) -> list[JobSummary]:
        result: list[JobSummary] = self._list("/jobs", JobSummary, limit=limit, **filters)
        return result

    def job(self, job_id: str) -> JobSpec:
        return self._get(f"/jobs/{job_id}", JobSpec)

    def runs(self, job_id: str, **filters: Any) -> list[RunRecord]:
        result: list[RunRecord] = self._list(f"/jobs/{job_id}/runs", RunRecord, **filters)
        return result

    def results(
        self, job_id: str, *, baseline: str | None = None, last_nightly: str | None = None
    ) -> JobResults:
        return self._get(
            f"/jobs/{job_id}/results", JobResults, baseline=baseline, last_nightly=last_nightly
        )

    def cancel(self, job_id: str) -> int:
        response = self._request("POST", f"/jobs/{job_id}/cancel")
        return Cancelled.model_validate_json(response.content).cancelled

    def events(self, job_id: str, poll_s: float = 0.5) -> Iterator[tuple[str, Any]]:
        """The job's server-sent events as (name, data) until ``done``."""
        headers = {**self._headers, "Accept": "text/event-stream"}
        try:
            with self._http.stream(
                "GET",
                f"/api/v1/jobs/{job_id}/events",
                params={"poll": poll_s},
                headers=headers,
                timeout=None,
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _error_of(response, self.base_url)
                name = "message"
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        name = line[6:].strip()
                    elif line.startswith("data:"):
                        yield name, json.loads(line[5:])
                        if name in ("done", "timeout"):
                            return
        except httpx.HTTPError as exc:
            raise RemoteFailure(
                f"lost the event stream of {job_id}: {exc.__class__.__name__}",
                hint="poll `pomar status` instead",
            ) from exc

    def list_runs(self, job_id: str) -> list[RunRecord]:
        """:meth:`runs` unfiltered: a :class:`~orchestrator.check_job.RunSource`."""
        return self.runs(job_id)

    def wait_for_job(
        self,
        job_id: str,
        *,
        timeout_s: float,
        on_update: OnRuns = lambda _: None,
        poll_s: float = 0.5,
    ) -> list[RunRecord]:
        """Poll the job's runs until all are finished, as ``pomar check`` polls the store
        (:meth:`events` would do too; polling also survives proxies that buffer streams)."""
        return wait_for_runs(self, job_id, timeout_s=timeout_s, on_update=on_update, poll_s=poll_s)

    # -- the farm ------------------------------------------------------------------------

    def devices(self) -> list[DeviceView]:
        result: list[DeviceView] = self._list("/devices", DeviceView)
        return result

    def pools(self) -> list[PoolView]:
        result: list[PoolView] = self._list("/pools", PoolView)
        return result

    def schedules(self) -> list[Schedule]:
        result: list[Schedule] = self._list("/schedules", Schedule)
        return result

    def series(self, model: str, product: str, compute_unit: str) -> Series:
        return self._get("/series", Series, model=model, product=product, compute_unit=compute_unit)


def _clean(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _error_of(response: httpx.Response, base_url: str) -> PomarError:
    try:
        body = response.json()
        detail, field = str(body.get("detail")), body.get("field")
    except (ValueError, AttributeError):
        detail, field = response.text[:200] or response.reason_phrase, None
    status = response.status_code
    if status >= 500:
        return RemoteFailure(
            f"the Pomar server at {base_url} failed ({status}): {detail}",
            hint="see the server's log; retry later",
        )
    hint = None
    if status == 401:
        hint = "set POMAR_TOKEN to a valid token (`pomar token create` on the server)"
    elif status == 403:
        hint = "ask an admin for a token with that scope"
    return RemoteError(detail, status=status, field=field, hint=hint)


def _prepared_error(sub: Submission) -> PomarError:
    """A failed preparation as the error class of its exit code."""
    from pomar_core.errors import JobRefused

    message = sub.error or "the server could not prepare the job"
    if sub.exit_code == 2:
        return UsageError(message)
    if sub.exit_code == 1:
        return JobRefused(message)
    return InfrastructureError(message)
