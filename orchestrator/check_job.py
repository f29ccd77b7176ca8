"""``pomar check``: intake → reference → runs on devices → comparison, as library functions.

The CLI parses options, calls :func:`prepare_job`, hands the job to a farm (embedded or remote),
waits with :func:`wait_for_runs`, and renders. Nothing here prints.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Protocol

from orchestrator.desktop_fp16 import compute_desktop_fp16
from orchestrator.inputs import prepare_inputs
from orchestrator.intake import ConversionOptions, IntakeResult, intake_model
from orchestrator.preflight import PreflightReport, PreflightRequest, run_preflight
from orchestrator.reference import compute_reference
from orchestrator.store import RunRecord
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import ConversionError, JobRefused, RunTimeoutError
from pomar_core.wire import DeviceSelector, JobSpec, Reference, RunConfig

Progress = Callable[[str], None]
"""Receives a short description of the stage being worked on."""
OnUpdate = Callable[[list[RunRecord]], None]
"""Receives every run of the job each time the store is polled."""


class RunSource(Protocol):
    """Where a job's runs are read: the job store, or ``pomar serve`` through its client."""

    def list_runs(self, job_id: str) -> list[RunRecord]: ...


@dataclass(frozen=True)
class CheckRequest:
    """What the user asked ``pomar check`` for."""

    model: str
    conversion: ConversionOptions
    config: RunConfig
    inputs_path: Path | None = None
    seed: int = 0
    target: DeviceSelector = field(default_factory=DeviceSelector)
    label: str | None = None
    iphone_product_types: tuple[str, ...] = ()
    """iPhones whose memory budget preflight judges (none for an emulator-only check)."""


@dataclass(frozen=True)
class PreparedJob:
    job: JobSpec
    intake: IntakeResult
    reference: Reference
    preflight: PreflightReport


def prepare_job(
    request: CheckRequest,
    artifacts: ArtifactStore,
    cache_dir: Path,
    progress: Progress = lambda _: None,
) -> PreparedJob:
    """Intake the model, build the input set, compute the reference: a job ready to submit."""
    progress("preflight")
    preflight = run_preflight(
        PreflightRequest(
            model=request.model,
            conversion=request.conversion,
            devices=request.iphone_product_types,
            inputs_path=request.inputs_path,
            seed=request.seed,
        ),
        progress,
    )
    if preflight.refused:
        first = preflight.report.blocking[0]
        if first.id == "convert.failed":
            # An unconvertible model is bad input (exit 2), like any model intake rejects.
            raise ConversionError(first.message, hint=first.hint)
        raise JobRefused(
            f"preflight refused the job: {preflight.reason}",
            hint=f"see `pomar preflight {request.model}` for every finding",
        )
    progress("reading the model")
    intake = intake_model(request.model, artifacts, cache_dir / "models", request.conversion)
    progress("preparing inputs")
    arrays, input_set = prepare_inputs(
        intake.model, artifacts, path=request.inputs_path, seed=request.seed
    )
    progress("computing the desktop reference")
    _, reference = compute_reference(
        intake.model,
        arrays,
        artifacts,
        module=intake.module,
        model_path=None if intake.has_source else intake.path,
        example_inputs=intake.example_inputs,
    )
    progress("emulating fp16 on the desktop")
    desktop_fp16 = compute_desktop_fp16(intake.model, intake.path, arrays, artifacts)
    job = JobSpec(
        job_id=new_job_id(),
        model=intake.model,
        inputs=input_set,
        reference=reference,
        desktop_fp16=desktop_fp16,
        target=request.target,
        config=request.config,
        submitted_at=datetime.now(UTC),
        label=request.label,
        converter=converter_version(),
    )
    return PreparedJob(job=job, intake=intake, reference=reference, preflight=preflight.report)


def converter_version() -> str | None:
    """``coremltools <version>`` as installed (read from its metadata: no import)."""
    try:
        return f"coremltools {metadata.version('coremltools')}"
    except metadata.PackageNotFoundError:
        return None


def new_job_id() -> str:
    return f"job-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def wait_for_runs(
    store: RunSource,
    job_id: str,
    *,
    timeout_s: float,
    on_update: OnUpdate = lambda _: None,
    poll_s: float = 0.1,
) -> list[RunRecord]:
    """Poll the store until every run of the job is finished, or raise ``RunTimeoutError``."""
    deadline = time.monotonic() + timeout_s
    while True:
        runs = store.list_runs(job_id)
        on_update(runs)
        if runs and all(r.status.finished for r in runs):
            return runs
        if time.monotonic() > deadline:
            waiting = sum(1 for r in runs if not r.status.finished)
            raise RunTimeoutError(
                f"{waiting} run(s) of {job_id} did not finish within {timeout_s:.0f}s",
                hint=f"see `pomar status {job_id}` later, or raise --timeout",
            )
        time.sleep(poll_s)
