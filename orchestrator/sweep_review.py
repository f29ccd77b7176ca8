"""A night's results as a team reads them: every series of a sweep against its history.

:func:`review_sweep` finds the sweep's jobs in the store (``submitted_by = sweep:<id>``), puts
each result in its series, compares it with the earlier nights of the same schedule
(:mod:`orchestrator.history.nightly`), folds in confirming re-runs (jobs submitted by
``confirm:<id>``, labelled ``confirm <run id>``), and returns a :class:`SweepSummary`: only the
regressions, new failures, recoveries and call-outs, each with a link to its report.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from orchestrator.history.nightly import (
    BandPolicy,
    FlagKind,
    NightVerdict,
    SeriesHistory,
    confirm,
    evaluate,
)
from orchestrator.history.series import point_of
from orchestrator.store import JobStore, RunRecord
from orchestrator.sweeps import sweep_of
from pomar_core.wire import JobSpec, RunResult

SEARCH_LIMIT = 2000
"""How many recent jobs a review reads: the sweep's and enough earlier nights for the band."""

CONFIRM_PREFIX = "confirm:"


class SummaryItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    series: str
    kind: str
    detail: str
    job_id: str
    run_id: str
    link: str
    bucket: float | None = None
    confirmed: bool | None = None


class SweepSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sweep_id: str
    schedule: str
    runs: int
    finished: int
    regressions: tuple[SummaryItem, ...] = ()
    new_failures: tuple[SummaryItem, ...] = ()
    recoveries: tuple[SummaryItem, ...] = ()
    callouts: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    reviewed_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.finished == self.runs

    @property
    def quiet(self) -> bool:
        return not (self.regressions or self.new_failures or self.recoveries)


def schedule_of_sweep(sweep_id: str) -> str:
    return sweep_id.split("@", 1)[0]


def sweep_jobs(jobs: list[JobSpec], sweep_id: str) -> list[JobSpec]:
    return [j for j in jobs if sweep_of(j) == sweep_id]


def confirm_jobs(jobs: list[JobSpec], sweep_id: str) -> list[JobSpec]:
    return [j for j in jobs if j.submitted_by == CONFIRM_PREFIX + sweep_id]


def review_sweep(
    store: JobStore,
    sweep_id: str,
    *,
    policy: BandPolicy | None = None,
    report_url: str | None = None,
) -> tuple[SweepSummary, list[NightVerdict]]:
    """The summary of a sweep (so far) and every verdict behind it."""
    policy = policy or BandPolicy()
    jobs = store.list_jobs(SEARCH_LIMIT)
    mine = sweep_jobs(jobs, sweep_id)
    schedule = schedule_of_sweep(sweep_id)
    history = SeriesHistory()
    for job in jobs:
        other = sweep_of(job)
        if other is not None and other != sweep_id and schedule_of_sweep(other) == schedule:
            for record in store.list_runs(job.job_id):
                if record.result is not None:
                    history.add(*point_of(job, record.result))
    reruns = {
        (j.label or "").removeprefix("confirm "): (j, store.list_runs(j.job_id))
        for j in confirm_jobs(jobs, sweep_id)
    }
    verdicts = []
    total = finished = 0
    for job in mine:
        for record in store.list_runs(job.job_id):
            total += 1
            if record.result is None:
                continue
            finished += 1
            key, point = point_of(job, record.result)
            earlier = history.before(key, point)
            verdict = evaluate(key, earlier, point, policy)
            rerun = _rerun_result(reruns.get(record.run_id))
            if rerun is not None:
                again_key, again = point_of(job, rerun)
                verdict = confirm(verdict, evaluate(again_key, earlier, again, policy))
            verdicts.append(verdict)
    return _summary(sweep_id, schedule, total, finished, verdicts, report_url), verdicts


def _rerun_result(found: tuple[JobSpec, list[RunRecord]] | None) -> RunResult | None:
    if found is None:
        return None
    results = [r.result for r in found[1] if r.result is not None]
    return results[0] if results else None


def _summary(
    sweep_id: str,
    schedule: str,
    total: int,
    finished: int,
    verdicts: list[NightVerdict],
    report_url: str | None,
) -> SweepSummary:
    regressions, failures, recoveries = [], [], []
    callouts: dict[str, None] = {}
    notes: dict[str, None] = {}
    for v in verdicts:
        for text in v.callouts:
            callouts[f"{v.key.model}: {text}"] = None
        for text in v.notes:
            if "not confirmed" in text or "hot" in text:
                notes[f"{v.key.describe()}: {text}"] = None
        for flag in v.flags:
            item = SummaryItem(
                series=v.key.describe(),
                kind=flag.kind.value,
                detail=flag.detail,
                job_id=v.point.job_id,
                run_id=v.point.run_id,
                link=link_of(v.point.job_id, report_url),
                bucket=flag.bucket,
                confirmed=v.confirmed,
            )
            if flag.kind is FlagKind.STARTED_FAILING:
                failures.append(item)
            elif flag.kind is FlagKind.STOPPED_FAILING:
                recoveries.append(item)
            else:
                regressions.append(item)
    return SweepSummary(
        sweep_id=sweep_id,
        schedule=schedule,
        runs=total,
        finished=finished,
        regressions=tuple(regressions),
        new_failures=tuple(failures),
        recoveries=tuple(recoveries),
        callouts=tuple(callouts),
        notes=tuple(notes),
    )


def link_of(job_id: str, report_url: str | None) -> str:
    return report_url.format(job_id=job_id) if report_url else f"pomar report {job_id}"
