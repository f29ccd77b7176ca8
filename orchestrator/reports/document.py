"""The one results document every report writer takes: runs, their job, reference, baseline
comparison and preflight findings. Data only (a frozen wire model); writers render it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from orchestrator.history import JobComparison
from orchestrator.preflight import PreflightReport
from pomar_core.wire import PROTOCOL_VERSION, Budgets, JobSpec, Reference, RunResult, WireModel


def _now() -> datetime:
    return datetime.now(UTC)


class ResultsDocument(WireModel):
    """What ``--json`` writes, and what every other format renders."""

    protocol: Literal[1] = PROTOCOL_VERSION
    generated_at: datetime = Field(default_factory=_now)
    job: JobSpec | None = None
    reference: Reference | None = None
    results: tuple[RunResult, ...] = ()
    comparison: JobComparison | None = None
    """The job against a baseline job (``pomar report --baseline``)."""
    preflight: PreflightReport | None = None
    """What preflight found about the model (``pomar check``, ``pomar preflight``)."""

    @classmethod
    def of(
        cls,
        results: Sequence[RunResult] = (),
        *,
        job: JobSpec | None = None,
        reference: Reference | None = None,
        comparison: JobComparison | None = None,
        preflight: PreflightReport | None = None,
    ) -> ResultsDocument:
        """A document generated now; the reference defaults to the job's."""
        return cls(
            job=job,
            reference=reference if reference is not None else (job.reference if job else None),
            results=tuple(results),
            comparison=comparison,
            preflight=preflight,
        )

    @property
    def notices(self) -> tuple[str, ...]:
        """Warnings every format shows: converter shims used, comparisons that prove nothing."""
        return document_notices(self)

    @property
    def budgets(self) -> Budgets | None:
        """The job's latency and memory budgets, which decide ``budget_failed`` reasons."""
        return self.job.config.budgets if self.job is not None else None

    @property
    def preflight_only(self) -> bool:
        """A ``pomar preflight`` document: findings about a model, no job and no runs."""
        return self.preflight is not None and self.job is None and not self.results


def document_notices(document: ResultsDocument) -> tuple[str, ...]:
    """The shims the conversion needed, then one line per degenerate output comparison."""
    notes: list[str] = []
    shims: list[str] = list(document.job.model.converter_shims) if document.job else []
    if document.preflight is not None:
        for attempt in document.preflight.conversions:
            shims += [s for s in attempt.shims if s not in shims]
    if shims:
        notes.append(
            f"converted with Pomar's converter shims: {', '.join(shims)} "
            "(coremltools 9.0 could not convert the model alone; --no-shims turns them off)"
        )
    seen: set[str] = set()
    for result in document.results:
        for output in result.parity.outputs if result.parity else ():
            if output.degenerate and output.name not in seen:
                seen.add(output.name)
                notes.append(f"{output.name}: {output.degenerate}")
    return tuple(notes)
