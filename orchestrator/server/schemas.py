"""What the HTTP API takes and returns, as frozen pydantic models (the OpenAPI schema is made
from these). Store records (:class:`~orchestrator.store.RunRecord`, ``Schedule``) and the
:class:`~orchestrator.reports.ResultsDocument` are returned as they are."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from orchestrator.intake import ConversionOptions
from orchestrator.preflight import PreflightReport
from orchestrator.reports import ResultsDocument
from pomar_core.wire import DeviceSelector, RunConfig, Sha256, WireModel

ModelPacking = Literal["mlpackage", "file"]
"""``mlpackage``: an ``.mlpackage`` directory as Pomar's deterministic zip
(:func:`pomar_core.model_archive.write_package_zip`); ``file``: the model file's own bytes
(``.mlmodel``, TorchScript, ``.pt2``)."""


class MissingRequest(WireModel):
    sha256: tuple[Sha256, ...] = Field(max_length=1000)


class MissingResponse(WireModel):
    missing: tuple[Sha256, ...]
    """The addresses the server does not have: upload only these."""


class Uploaded(WireModel):
    sha256: Sha256
    size: int
    stored: bool
    """False when the server had these bytes already."""


class ModelUpload(WireModel):
    sha256: Sha256
    packing: ModelPacking
    name: str = Field(min_length=1, max_length=500)
    """What the user called the model (``models/cnn.mlpackage``): its name in every report
    and in its series' history."""
    suffix: str = Field(default="", pattern=r"^(\.[A-Za-z0-9]{1,12})?$")
    """The file's extension (``.mlmodel``, ``.pt2``) for ``file`` packing."""


class SubmitRequest(WireModel):
    """A job as the CLI's options describe it; the server prepares it (preflight, intake,
    reference) and queues its runs."""

    model: ModelUpload
    inputs: Sha256 | None = None
    """An uploaded ``.npz`` of named input tensors (never pickled); None: generate from seed."""
    inputs_name: str | None = Field(default=None, max_length=500)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    config: RunConfig = RunConfig()
    target: DeviceSelector = DeviceSelector()
    conversion: ConversionOptions = ConversionOptions()
    label: str | None = Field(default=None, max_length=200)
    priority: int = Field(default=5, ge=0, le=9)
    iphone_product_types: tuple[str, ...] = Field(default=(), max_length=50)


class SubmissionState(StrEnum):
    PREPARING = "preparing"
    """Preflight, intake and the desktop reference are being computed."""
    SUBMITTED = "submitted"
    """The job and its runs are in the store and queued."""
    FAILED = "failed"
    """The job could not be prepared: ``error`` says why, ``exit_code`` as the CLI's."""


class Submission(WireModel):
    submission_id: str
    state: SubmissionState
    job_id: str | None = None
    runs: tuple[str, ...] = ()
    error: str | None = None
    exit_code: int | None = None
    created_at: datetime
    updated_at: datetime
    preflight: PreflightReport | None = None
    input_warnings: tuple[str, ...] = ()


class JobSummary(WireModel):
    job_id: str
    model: str
    label: str | None
    submitted_at: datetime
    submitted_by: str | None
    priority: int
    counts: dict[str, int]
    """Runs by status."""


class JobResults(WireModel):
    document: ResultsDocument
    """The same document ``pomar results --json`` writes."""
    waiting: int
    """Runs not finished yet, so not in the document."""


class Cancelled(WireModel):
    job_id: str
    cancelled: int


class DeviceView(WireModel):
    udid: str
    kind: str
    product: str
    os: str | None
    pools: tuple[str, ...]
    agent: str | None
    state: str
    current_run: str | None
    detail: str | None
    """Why a quarantined device is held back."""
    last_heartbeat: datetime


class PoolView(WireModel):
    pool: str
    devices: int
    live: int
    busy: int
    quarantined: int


class SeriesPoint(WireModel):
    job_id: str
    run_id: str
    at: datetime
    status: str
    device_udid: str
    os_version: str
    converter: str | None
    p50_ms: float | None
    p90_ms: float | None
    peak_bytes: int | None
    parity_error: float | None
    """The worst relative L2 error over the outputs."""
    hot: bool


class Series(WireModel):
    model: str
    product: str
    compute_unit: str
    points: tuple[SeriesPoint, ...]


class TokenCreate(WireModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: tuple[Literal["read", "submit", "admin"], ...] = Field(min_length=1)


class TokenCreated(WireModel):
    token: str
    """Shown once; the server keeps only its digest."""
    token_id: str
    scopes: tuple[str, ...]


class Problem(WireModel):
    """Every error response: one line saying what is wrong and what to do next."""

    detail: str
    field: str | None = None
