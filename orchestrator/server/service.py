"""What the API does, as plain methods over the farm: the routes only parse and encode.

Submissions are prepared on a small thread pool in this process (preparing a model is CPU
work measured in seconds: the HTTP request must not wait for it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from orchestrator.coordinator import Coordinator
from orchestrator.fleet import device_rows, pool_counts
from orchestrator.history.series import point_of
from orchestrator.reports import stored_job
from orchestrator.server.errors import NotFound
from orchestrator.server.prepare import check_request, prepare_submission
from orchestrator.server.schemas import (
    DeviceView,
    JobResults,
    JobSummary,
    PoolView,
    Series,
    SeriesPoint,
    Submission,
    SubmissionState,
    SubmitRequest,
)
from orchestrator.server.submissions import SubmissionStore
from orchestrator.server.tokens import Token, TokenStore
from orchestrator.store import JobStore, RunRecord, Schedule
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import PomarError, UsageError
from pomar_core.leases import Liveness
from pomar_core.wire import JobSpec, RunStatus

log = logging.getLogger(__name__)

SERIES_JOBS = 500
"""How many recent jobs a series' history is read from."""


def unknown_job(job_id: str) -> NotFound:
    return NotFound(f"no job '{job_id}'", hint="list jobs with GET /api/v1/jobs or `pomar status`")


@dataclass
class FarmService:
    """The farm as the API sees it."""

    store: JobStore
    artifacts: ArtifactStore
    coordinator: Coordinator
    liveness: Liveness | None
    tokens: TokenStore
    submissions: SubmissionStore
    cache_dir: Path
    upload_limit: int
    """Bytes one upload may carry (HTTP 413 past it)."""
    preparers: int = 1
    poll_cache_s: float = 0.2
    """How long one read of a job's runs answers every poller of that job: 50 clients
    polling one job cost one store read per this interval, not 50."""
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _runs_cache: dict[str, tuple[float, list[RunRecord]]] = field(
        default_factory=dict, init=False, repr=False
    )
    _cache_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    after_prepare: list[Callable[[Submission], None]] = field(default_factory=list)

    def start(self) -> None:
        abandoned = self.submissions.abandon_preparing()
        if abandoned:
            log.warning("%d submission(s) left preparing by a previous server failed", abandoned)
        self._pool = ThreadPoolExecutor(self.preparers, thread_name_prefix="prepare")

    def stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    # -- jobs ----------------------------------------------------------------------------

    def submit(self, token: Token, key: str | None, request: SubmitRequest) -> Submission:
        """Check the uploads, record the submission (or find the one ``key`` names), and
        prepare it in the background."""
        check_request(request, self.artifacts)
        submission, new = self.submissions.create(token.token_id, key, request)
        if new:
            assert self._pool is not None, "FarmService.start() was not called"
            self._pool.submit(self._prepare, submission.submission_id, request, token.name)
        return self.submission(submission.submission_id)

    def _prepare(self, submission_id: str, request: SubmitRequest, submitted_by: str) -> None:
        try:
            prepared = prepare_submission(request, self.artifacts, self.cache_dir, submitted_by)
            self.coordinator.submit(prepared.job)
        except PomarError as exc:
            self.submissions.failed(submission_id, exc.one_line(), exc.exit_code)
        except Exception as exc:  # a bug: say so on the submission, keep the server up
            log.exception("preparing submission %s", submission_id)
            self.submissions.failed(
                submission_id, f"internal error: {exc.__class__.__name__}: {exc}", 3
            )
        else:
            self.submissions.submitted(submission_id, prepared.job.job_id, prepared.preflight)
        for listener in self.after_prepare:
            listener(self.submission(submission_id))

    def submission(self, submission_id: str) -> Submission:
        found = self.submissions.get(submission_id)
        if found is None:
            raise NotFound(
                f"no submission '{submission_id}'", hint="submit the job again to get one"
            )
        if found.state is SubmissionState.SUBMITTED and found.job_id:
            job = self.store.get_job(found.job_id)
            runs = tuple(r.run_id for r in self.store.list_runs(found.job_id))
            found = found.model_copy(update={"runs": runs, "input_warnings": job.inputs.warnings})
        return found

    def job(self, job_id: str) -> JobSpec:
        try:
            return self.store.get_job(job_id)
        except UsageError:
            raise unknown_job(job_id) from None

    def summary(self, job: JobSpec, runs: list[RunRecord] | None = None) -> JobSummary:
        runs = self.store.list_runs(job.job_id) if runs is None else runs
        return JobSummary(
            job_id=job.job_id,
            model=job.model.name,
            label=job.label,
            submitted_at=job.submitted_at,
            submitted_by=job.submitted_by,
            priority=job.priority,
            counts=dict(Counter(r.status.value for r in runs)),
        )

    def jobs(
        self,
        *,
        limit: int,
        label: str | None = None,
        model: str | None = None,
        status: RunStatus | None = None,
        submitted_by: str | None = None,
    ) -> list[JobSummary]:
        """Newest first, filtered; ``status`` keeps jobs with at least one run in it."""
        out = []
        for job in self.store.list_jobs(limit if status is None else max(limit, 200)):
            if (label and job.label != label) or (model and job.model.name != model):
                continue
            if submitted_by and job.submitted_by != submitted_by:
                continue
            summary = self.summary(job)
            if status is not None and status.value not in summary.counts:
                continue
            out.append(summary)
            if len(out) >= limit:
                break
        return out

    def runs(
        self, job_id: str, status: RunStatus | None = None, device: str | None = None
    ) -> list[RunRecord]:
        return [
            r
            for r in self._polled_runs(job_id)
            if (status is None or r.status is status)
            and (device is None or r.device_udid == device)
        ]

    def _polled_runs(self, job_id: str) -> list[RunRecord]:
        now = time.monotonic()
        with self._cache_lock:
            hit = self._runs_cache.get(job_id)
        if hit is not None and now - hit[0] < self.poll_cache_s:
            return hit[1]
        self.job(job_id)
        runs = self.store.list_runs(job_id)
        with self._cache_lock:
            if len(self._runs_cache) > 1000:
                self._runs_cache.clear()
            self._runs_cache[job_id] = (now, runs)
        return runs

    def unfinished_runs(self) -> list[RunRecord]:
        return self.store.unfinished_runs()

    def results(
        self, job_id: str, baseline: str | None = None, last_nightly: str | None = None
    ) -> JobResults:
        self.job(job_id)
        stored = stored_job(self.store, job_id, baseline_id=baseline, nightly_label=last_nightly)
        return JobResults(document=stored.document, waiting=stored.waiting)

    def cancel(self, job_id: str) -> int:
        self.job(job_id)
        cancelled = self.coordinator.cancel(job_id)
        with self._cache_lock:
            self._runs_cache.pop(job_id, None)
        return cancelled

    # -- the farm ------------------------------------------------------------------------

    def device_views(self) -> list[DeviceView]:
        live = self.liveness.live() if self.liveness is not None else {}
        return [
            DeviceView.model_validate(row) for row in device_rows(self.store.list_devices(), live)
        ]

    def pool_views(self) -> list[PoolView]:
        live = self.liveness.live() if self.liveness is not None else {}
        counts = pool_counts(device_rows(self.store.list_devices(), live))
        return [PoolView(pool=name, **c) for name, c in sorted(counts.items())]

    def schedules(self) -> list[Schedule]:
        return self.store.list_schedules()

    def series(self, model: str, product: str, compute_unit: str) -> Series:
        """Every finished run of (model, device product, compute unit), oldest first, across
        OS versions (a change of OS is a new series of the same lineage)."""
        points: list[tuple[datetime, SeriesPoint]] = []
        for job in self.store.list_jobs(SERIES_JOBS):
            if job.model.name != model:
                continue
            for record in self.store.list_runs(job.job_id):
                result = record.result
                if result is None or not record.status.finished:
                    continue
                key, night = point_of(job, result)
                if key.lineage != (model, product, compute_unit):
                    continue
                latency = result.timings.latency
                points.append(
                    (
                        night.at,
                        SeriesPoint(
                            job_id=night.job_id,
                            run_id=night.run_id,
                            at=night.at,
                            status=night.status.value,
                            device_udid=night.device_udid,
                            os_version=night.os_version,
                            converter=night.converter,
                            p50_ms=latency.p50_ms if latency else None,
                            p90_ms=latency.p90_ms if latency else None,
                            peak_bytes=night.peak_bytes,
                            parity_error=night.parity_error,
                            hot=night.hot,
                        ),
                    )
                )
        points.sort(key=lambda p: p[0])
        return Series(
            model=model,
            product=product,
            compute_unit=compute_unit,
            points=tuple(p for _, p in points),
        )

    def series_keys(self) -> list[tuple[str, str, str]]:
        """Every (model, product, compute unit) with a finished run in recent jobs."""
        keys: set[tuple[str, str, str]] = set()
        for job in self.store.list_jobs(SERIES_JOBS):
            for record in self.store.list_runs(job.job_id):
                if record.result is not None and record.status.finished:
                    keys.add(point_of(job, record.result)[0].lineage)
        return sorted(keys)
