"""The routes of ``/api/v1``: parse, call :class:`FarmService`, encode. Errors are mapped to
status codes in :mod:`orchestrator.server.errors`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from orchestrator.reports import HtmlWriter
from orchestrator.server.auth import require
from orchestrator.server.errors import NotFound, UploadTooLarge
from orchestrator.server.events import job_events
from orchestrator.server.schemas import (
    Cancelled,
    DeviceView,
    JobResults,
    JobSummary,
    MissingRequest,
    MissingResponse,
    PoolView,
    Problem,
    Series,
    Submission,
    SubmitRequest,
    TokenCreate,
    TokenCreated,
    Uploaded,
)
from orchestrator.server.service import FarmService
from orchestrator.server.tokens import Scope, Token
from orchestrator.server.uploads import check_inputs, check_package_archive, receive
from orchestrator.store import RunRecord, Schedule
from pomar_core.wire import JobSpec, RunStatus

Sha = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="A lowercase hex sha256.")]
JobId = Annotated[str, Path(max_length=64)]
Reader = Annotated[Token, Depends(require(Scope.READ))]
Submitter = Annotated[Token, Depends(require(Scope.SUBMIT))]
Admin = Annotated[Token, Depends(require(Scope.ADMIN))]

_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem} for code in (401, 403, 404, 409, 413, 422, 503)
}
router = APIRouter(prefix="/api/v1", responses=_ERRORS)


def service_of(request: Request) -> FarmService:
    service: FarmService = request.app.state.service
    return service


Service = Annotated[FarmService, Depends(service_of)]


@router.get("/health", tags=["farm"])
def health() -> dict[str, str]:
    """Liveness of the server itself (no token needed)."""
    return {"status": "ok"}


# -- uploads ---------------------------------------------------------------------------------


@router.post("/blobs/missing", tags=["uploads"])
def missing_blobs(body: MissingRequest, service: Service, _: Submitter) -> MissingResponse:
    """Which of these content addresses the server lacks: upload only those."""
    return MissingResponse(missing=tuple(s for s in body.sha256 if not service.artifacts.exists(s)))


@router.put("/blobs/{sha256}", tags=["uploads"], status_code=201)
async def upload_blob(
    sha256: Sha,
    request: Request,
    response: Response,
    service: Service,
    _: Submitter,
    kind: Annotated[
        Literal["mlpackage", "npz", "file"] | None,
        Query(description="Check the bytes are this before storing them."),
    ] = None,
) -> Uploaded:
    """The raw bytes of one artifact; refused unless they hash to ``sha256`` (422) and fit
    the upload limit (413)."""
    if service.artifacts.exists(sha256):
        response.status_code = 200
        return Uploaded(sha256=sha256, size=0, stored=False)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > service.upload_limit:
        raise UploadTooLarge(
            f"upload of {declared} bytes exceeds the server's limit of {service.upload_limit}",
            hint="raise POMAR_UPLOAD_LIMIT_MB on the server, or send a smaller file",
        )
    path = await receive(
        request.stream(), sha256, service.upload_limit, service.cache_dir / "uploads"
    )
    try:
        size = path.stat().st_size
        if kind == "mlpackage":
            await run_in_threadpool(check_package_archive, path)
        elif kind == "npz":
            await run_in_threadpool(check_inputs, path)
        await run_in_threadpool(service.artifacts.put_file, path)
    finally:
        path.unlink(missing_ok=True)
    return Uploaded(sha256=sha256, size=size, stored=True)


@router.get("/blobs/{sha256}", tags=["uploads"], response_class=Response)
def download_blob(sha256: Sha, service: Service, _: Reader) -> Response:
    """An artifact's bytes (a model, an input set, a run's output)."""
    if not service.artifacts.exists(sha256):
        raise NotFound(f"no artifact {sha256[:12]}", hint="check the address")
    return Response(
        service.artifacts.get_bytes(sha256),
        media_type="application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{sha256[:12]}"'},
    )


# -- jobs ------------------------------------------------------------------------------------


@router.post("/submissions", tags=["jobs"], status_code=202)
def submit(
    body: SubmitRequest,
    service: Service,
    token: Submitter,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Submission:
    """Submit a job. The answer comes at once (``preparing``); poll the submission until it
    is ``submitted`` (its ``job_id`` is then queued) or ``failed``. The same
    ``Idempotency-Key`` sent again returns the same submission: one job."""
    return service.submit(token, idempotency_key, body)


@router.get("/submissions/{submission_id}", tags=["jobs"])
def submission(
    submission_id: Annotated[str, Path(max_length=64)], service: Service, _: Reader
) -> Submission:
    return service.submission(submission_id)


@router.get("/jobs", tags=["jobs"])
def jobs(
    service: Service,
    _: Reader,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    label: str | None = None,
    model: str | None = None,
    status: RunStatus | None = None,
    submitted_by: str | None = None,
) -> list[JobSummary]:
    """Recent jobs, newest first, with their runs counted by status."""
    return service.jobs(
        limit=limit, label=label, model=model, status=status, submitted_by=submitted_by
    )


@router.get("/jobs/{job_id}", tags=["jobs"])
def job(job_id: JobId, service: Service, _: Reader) -> JobSpec:
    return service.job(job_id)


_RUNS = TypeAdapter(list[RunRecord])
_RESULTS = TypeAdapter(JobResults)


def _json(adapter: TypeAdapter[Any], value: object) -> Response:
    """Encoded once by pydantic, straight to bytes: the answers pollers ask for again and
    again (a job's runs, its results) skip FastAPI's second validation and encoding pass."""
    return Response(adapter.dump_json(value), media_type="application/json")


@router.get("/jobs/{job_id}/runs", tags=["jobs"], response_model=list[RunRecord])
def job_runs(
    job_id: JobId,
    service: Service,
    _: Reader,
    status: RunStatus | None = None,
    device: str | None = None,
) -> Response:
    """A job's runs: where each one is and why (``detail``), with its result once finished."""
    return _json(_RUNS, service.runs(job_id, status, device))


@router.get("/runs", tags=["jobs"])
def unfinished_runs(service: Service, _: Reader) -> list[RunRecord]:
    """Every queued or running run of the farm, oldest first."""
    return service.unfinished_runs()


@router.get("/jobs/{job_id}/results", tags=["jobs"], response_model=JobResults)
def results(
    job_id: JobId,
    service: Service,
    _: Reader,
    baseline: Annotated[str | None, Query(max_length=64)] = None,
    last_nightly: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The job's results document (the one ``pomar results --json`` writes), compared with
    ``baseline`` or the newest job labelled ``last_nightly`` before it."""
    return _json(_RESULTS, service.results(job_id, baseline, last_nightly))


@router.get("/jobs/{job_id}/report.html", tags=["jobs"], response_class=Response)
def html(job_id: JobId, service: Service, _: Reader) -> Response:
    """The self-contained HTML report of the job's finished runs."""
    document = service.results(job_id).document
    page = HtmlWriter(service.artifacts).render(document)
    return Response(page, media_type="text/html; charset=utf-8")


@router.get("/jobs/{job_id}/events", tags=["jobs"], response_class=StreamingResponse)
def events(
    job_id: JobId,
    service: Service,
    _: Reader,
    poll: Annotated[float, Query(ge=0.05, le=30)] = 0.5,
) -> StreamingResponse:
    """Server-sent events: ``runs`` (every run's status) whenever one changes, then ``done``
    when every run finished."""
    service.job(job_id)
    return StreamingResponse(
        job_events(service.store, job_id, poll),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/jobs/{job_id}/cancel", tags=["jobs"])
def cancel(job_id: JobId, service: Service, _: Submitter) -> Cancelled:
    """Cancel every unfinished run; running ones are told to stop."""
    return Cancelled(job_id=job_id, cancelled=service.cancel(job_id))


# -- the farm --------------------------------------------------------------------------------


@router.get("/devices", tags=["farm"])
def devices(service: Service, _: Reader) -> list[DeviceView]:
    """Every device seen: state from its heartbeat, pools, OS, current run, quarantine."""
    return service.device_views()


@router.get("/pools", tags=["farm"])
def pools(service: Service, _: Reader) -> list[PoolView]:
    """Pools with how many devices are live, busy and quarantined."""
    return service.pool_views()


@router.get("/schedules", tags=["farm"])
def schedules(service: Service, _: Reader) -> list[Schedule]:
    return service.schedules()


@router.get("/series", tags=["farm"])
def series(
    service: Service,
    _: Reader,
    model: Annotated[str, Query(min_length=1)],
    product: Annotated[str, Query(min_length=1)],
    compute_unit: Annotated[str, Query(min_length=1)],
) -> Series:
    """The history of one (model, device product, compute unit): latency, peak memory and
    worst parity error per run, oldest first, with the OS version of each."""
    return service.series(model, product, compute_unit)


# -- tokens ----------------------------------------------------------------------------------


@router.post("/tokens", tags=["tokens"], status_code=201)
def create_token(body: TokenCreate, service: Service, _: Admin) -> TokenCreated:
    """A new token; its text is in this answer only."""
    plain, token = service.tokens.create(body.name, tuple(Scope(s) for s in body.scopes))
    return TokenCreated(
        token=plain, token_id=token.token_id, scopes=tuple(s.value for s in token.scopes)
    )


@router.get("/tokens", tags=["tokens"])
def list_tokens(service: Service, _: Admin) -> list[Token]:
    return service.tokens.list()


@router.post("/tokens/{token_id}/revoke", tags=["tokens"])
def revoke_token(
    token_id: Annotated[str, Path(max_length=32)], service: Service, _: Admin
) -> Token:
    return service.tokens.revoke(token_id)
