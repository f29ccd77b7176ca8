"""The localiser: drives the search on the failing device, one probe run at a time.

A probe is an ordinary job (``JobSpec.probe_of`` set) pinned to the failing run's device and
compute unit, so it goes through the normal farm path (queues, leases, retries, cancellation).
The search state is the :class:`~pomar_core.wire.Localisation` attached to the failing run's
result: the coordinator process advances it when a probe's result is recorded
(:meth:`Localiser.on_recorded`), and any process may start or cancel one. Cancelling cancels the
probe in flight and marks the localisation cancelled; the failing run itself, its status,
outputs and parity report, is never touched.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from orchestrator.localise import search
from orchestrator.localise.agreement import agreement_text, conversion_error
from orchestrator.localise.graph import ProgramGraph, graph_of
from orchestrator.localise.probe_job import probe_job_of
from orchestrator.localise.traces import ReferenceTraces, record_traces
from orchestrator.localise.variant import FP32_SUFFIX, read_program, store_variant
from orchestrator.store import JobStore, RunRecord
from pomar_core.artifacts import ArtifactStore, load_array, load_arrays
from pomar_core.errors import PomarError, UsageError
from pomar_core.model_archive import unpack_model
from pomar_core.wire import (
    DeviceInfo,
    JobSpec,
    Localisation,
    LocalisationStatus,
    ModelFormat,
    Probe,
    ProbeOf,
    RunResult,
    RunSpec,
    RunStatus,
    TensorError,
    TriageLabel,
)

log = logging.getLogger(__name__)

LOCALISED_TRIAGE = frozenset({TriageLabel.ENGINE_MISMATCH, TriageLabel.COMPUTE_UNIT_MISMATCH})
"""Triage labels that start a localisation by themselves (with ``auto``)."""


class Submits(Protocol):
    """What the localiser needs of the coordinator."""

    store: JobStore
    artifacts: ArtifactStore

    def submit(self, job: JobSpec, devices: list[DeviceInfo] | None = None) -> list[RunSpec]: ...

    def cancel(self, job_id: str) -> int: ...


@dataclass(frozen=True)
class LocalisePolicy:
    """How much device time a localisation may take, and whether failures start one."""

    max_runs: int = 12
    auto: bool = True


class Localiser:
    """Starts, advances and cancels localisations of failing runs."""

    def __init__(self, coordinator: Submits, cache_dir: Path, policy: LocalisePolicy) -> None:
        self.coordinator = coordinator
        self.store = coordinator.store
        self.artifacts = coordinator.artifacts
        self.cache_dir = cache_dir
        self.policy = policy
        self._serial = ThreadPoolExecutor(max_workers=1, thread_name_prefix="localise")

    # -- entry points --------------------------------------------------------------------------

    def on_recorded(self, result: RunResult, job: JobSpec) -> None:
        """The coordinator's listener: advance on a probe's result; start on a failure that
        triage blames on the engine or the compute unit. The work (traces, variants) runs on
        the localiser's own thread, one step at a time, so recording never waits on it."""
        if job.probe_of is not None or self._starts(result):
            self._serial.submit(self._handle, result, job)

    def _starts(self, result: RunResult) -> bool:
        return (
            self.policy.auto
            and result.status is RunStatus.PARITY_FAILED
            and result.parity is not None
            and result.parity.triage in LOCALISED_TRIAGE
        )

    def _handle(self, result: RunResult, job: JobSpec) -> None:
        try:
            if job.probe_of is not None:
                self.advance(result, job.probe_of)
            else:
                self.start(result.run_id)
        except PomarError as exc:
            log.warning("localising after run %s: %s", result.run_id, exc.one_line())
            self._abandon(job, exc.one_line())
        except Exception as exc:  # a bug here must not kill the thread that serves every step
            log.exception("localising after run %s", result.run_id)
            self._abandon(job, f"{type(exc).__name__}: {exc}")

    def _abandon(self, job: JobSpec, why: str) -> None:
        """End a probe's localisation that a step failed to advance (nothing is in flight)."""
        if job.probe_of is None:
            return  # a start that failed has said so itself, or was refused (already running)
        record = self.store.get_run(job.probe_of.run_id)
        loc = record.result.localisation if record and record.result else None
        if loc is not None and not loc.status.finished:
            self._finish(loc, LocalisationStatus.ERROR, why)

    def close(self) -> None:
        """Finish the step in hand and stop the localiser's thread."""
        self._serial.shutdown(wait=True)

    def start(self, run_id: str, max_runs: int | None = None) -> Localisation:
        """Begin localising ``run_id``: record the reference traces, check the failing run's
        outputs, and submit the first probe. Raises ``UsageError`` for a run that cannot be."""
        record, job = self._failing(run_id)
        current = record.result.localisation if record.result else None
        if current is not None and not current.status.finished:
            raise UsageError(
                f"run {run_id} is being localised already",
                hint=f"wait for it, or `pomar localise {run_id} --cancel`",
            )
        budget = self.policy.max_runs if max_runs is None else max_runs
        now = datetime.now(UTC)
        try:
            graph, traces_sha, outputs = self._prepare(record, job)
        except PomarError as exc:
            failed = Localisation(
                run_id=run_id,
                status=LocalisationStatus.ERROR,
                max_runs=budget,
                ops=0,
                cuts=0,
                lo=-1,
                hi=0,
                detail=exc.one_line(),
                started_at=now,
                finished_at=now,
            )
            self._attach(failed)
            raise
        cuts = graph.cut_points()
        loc = Localisation(
            run_id=run_id,
            status=LocalisationStatus.RUNNING,
            max_runs=budget,
            ops=len(graph.ops),
            cuts=len(cuts),
            lo=-1,
            hi=len(cuts) - 1,
            outputs=outputs,
            traces_sha256=traces_sha,
            started_at=now,
        )
        if not any(e.diverged for e in outputs):
            return self._finish(
                loc,
                LocalisationStatus.NOT_LOCALISED,
                agreement_text(outputs, self._conversion_error(job, traces_sha)),
            )
        return self._guarded_step(loc, graph, record, job)

    def advance(self, result: RunResult, probe_of: ProbeOf) -> Localisation | None:
        """Take a probe's result: narrow the search and submit the next probe, or finish."""
        record, job = self._failing(probe_of.run_id)
        loc = record.result.localisation if record.result else None
        if loc is None or loc.status.finished or not loc.probes:
            return None  # cancelled (or never ours): the result stays a plain run
        probe = loc.probes[-1]
        if probe.job_id != result.job_id:
            return None
        if result.status is not RunStatus.PASSED:
            done = self._replace_probe(loc, probe.model_copy(update={"run_status": result.status}))
            return self._finish(
                done,
                LocalisationStatus.ERROR,
                f"probe {result.run_id} ended {result.status.value}"
                + (f": {result.error}" if result.error else ""),
            )
        traces = ReferenceTraces(self.artifacts, loc.traces_sha256 or "")
        device = {out.name: out for out in result.outputs}
        errors = []
        for name in probe.exposed:
            out = device.get(name) or device.get(name + FP32_SUFFIX)
            if out is None:
                # Never read a missing tensor as clean: that would steer the search wrong.
                return self._finish(
                    self._replace_probe(
                        loc, probe.model_copy(update={"run_status": result.status})
                    ),
                    LocalisationStatus.ERROR,
                    f"probe {result.run_id} returned no '{name}': the device did not expose it",
                )
            if name in traces.fp32:
                errors.append(traces.error_of(name, load_array(self.artifacts, out.sha256)))
        diverged = any(e.diverged for e in errors)
        probe = probe.model_copy(
            update={"run_status": result.status, "errors": tuple(errors), "diverged": diverged}
        )
        loc = self._replace_probe(loc, probe)
        graph = self._graph(job)
        if probe.split:
            return self._conclude(loc, graph)
        cuts = graph.cut_points()
        loc = search.narrowed(loc, cuts.index(probe.position), diverged)
        return self._guarded_step(loc, graph, record, job)

    def cancel(self, run_id: str) -> Localisation:
        """Stop localising ``run_id``: cancel the probe in flight, keep what was learnt."""
        record, job = self._failing(run_id)
        loc = record.result.localisation if record.result else None
        if loc is None or loc.status.finished:
            raise UsageError(
                f"run {run_id} is not being localised",
                hint=f"`pomar localise {run_id}` starts one",
            )
        if loc.probes:
            self.coordinator.cancel(loc.probes[-1].job_id)
        return self._finish(
            loc,
            LocalisationStatus.CANCELLED,
            f"cancelled after {loc.device_runs} device run(s); "
            + self._suspects_text(loc, self._graph(job)),
        )

    # -- the search ------------------------------------------------------------------------------

    def _guarded_step(
        self, loc: Localisation, graph: ProgramGraph, record: RunRecord, job: JobSpec
    ) -> Localisation:
        """The next step; a failure to build or send the probe ends the search as an error
        (a localisation must never be left ``running`` with nothing in flight)."""
        try:
            return self._step(loc, graph, record, job)
        except PomarError as exc:
            self._finish(loc, LocalisationStatus.ERROR, exc.one_line())
            raise

    def _step(
        self, loc: Localisation, graph: ProgramGraph, record: RunRecord, job: JobSpec
    ) -> Localisation:
        cuts = graph.cut_points()
        cut = search.next_cut(loc)
        if cut is None:
            group = search.suspects(graph, cuts, loc.lo, loc.hi)
            inside = [v for op in group[:-1] for v in op.outputs]
            if not inside or loc.device_runs >= loc.max_runs:
                return self._conclude(loc, graph)
            expose = tuple(dict.fromkeys([*inside, *graph.frontier(cuts[loc.hi])]))
            return self._probe(loc, record, job, cuts[loc.hi], expose, split=True)
        if loc.device_runs >= loc.max_runs:
            return self._finish(
                loc,
                LocalisationStatus.BUDGET_EXHAUSTED,
                f"{loc.device_runs} device runs spent (the budget); "
                + self._suspects_text(loc, graph),
            )
        return self._probe(loc, record, job, cuts[cut], graph.frontier(cuts[cut]), split=False)

    def _probe(
        self,
        loc: Localisation,
        record: RunRecord,
        job: JobSpec,
        position: int,
        expose: tuple[str, ...],
        *,
        split: bool,
    ) -> Localisation:
        model_path = self._model_path(job)
        label = f"probe {loc.device_runs + 1} of {record.run_id}"
        variant = store_variant(job.model, model_path, expose, self.artifacts, label)
        result = record.result
        assert result is not None
        probe_job = probe_job_of(job, record, variant, position, expose)
        probe = Probe(job_id=probe_job.job_id, position=position, exposed=expose, split=split)
        loc = loc.model_copy(update={"probes": (*loc.probes, probe)})
        # Attach first: the probe's result may be recorded before submit returns.
        if self._attach(loc):
            self.coordinator.submit(probe_job)
        return loc

    def _conclude(self, loc: Localisation, graph: ProgramGraph) -> Localisation:
        cuts = graph.cut_points()
        group = search.suspects(graph, cuts, loc.lo, loc.hi)
        errors = search.measured(loc)
        culprit = search.culprit_of(graph, group, errors)
        loc = loc.model_copy(update={"culprit": culprit})
        split = loc.probes[-1] if loc.probes and loc.probes[-1].split else None
        where = f"'{culprit.op}' ({culprit.op_type})"
        if split is not None and not split.diverged:
            return self._finish(
                loc,
                LocalisationStatus.FOUND,
                f"the fused group ending in {where} diverges, and agrees once its inside is "
                f"exposed: a fusion bug on this compute unit (exposing "
                f"'{group[0].name}' works around it)",
            )
        fused = f", fused with {', '.join(culprit.fused_with)}" if culprit.fused_with else ""
        return self._finish(
            loc,
            LocalisationStatus.FOUND,
            f"{where}{fused} diverges: output error {culprit.output.error:.3g} against fp16 "
            f"noise {culprit.output.noise:.3g}, its inputs within their noise",
        )

    def _suspects_text(self, loc: Localisation, graph: ProgramGraph) -> str:
        group = search.suspects(graph, graph.cut_points(), loc.lo, loc.hi)
        first, last = group[0], group[-1]
        return (
            f"{len(group)} of {loc.ops} ops still suspected, from '{first.name}' "
            f"({first.op_type}) to '{last.name}' ({last.op_type})"
        )

    # -- plumbing ------------------------------------------------------------------------------

    def _failing(self, run_id: str) -> tuple[RunRecord, JobSpec]:
        record = self.store.get_run(run_id)
        if record is None:
            raise UsageError(f"no run {run_id}", hint="`pomar status JOB` lists a job's runs")
        job = self.store.get_job(record.spec.job_id)
        if job.probe_of is not None:
            raise UsageError(
                f"run {run_id} is a localisation probe",
                hint=f"localise the run it probes: {job.probe_of.run_id}",
            )
        if record.status is not RunStatus.PARITY_FAILED or record.result is None:
            raise UsageError(
                f"run {run_id} is {record.status.value}: only a parity failure can be localised",
                hint="`pomar results JOB` shows which runs failed parity",
            )
        if job.model.format is not ModelFormat.MLPACKAGE or job.model.model_type != "mlProgram":
            raise UsageError(
                f"run {run_id} ran a {job.model.model_type}: localisation needs an ML program",
                hint="convert with minimum_deployment_target iOS15 or later",
            )
        if any(spec.is_image for spec in job.model.inputs):
            # The variant is re-serialised from the MIL program, whose inputs are tensors: an
            # image input would come back a multi-array, and the harness would feed it wrong.
            raise UsageError(
                f"run {run_id}'s model takes an image input: localisation cannot probe it yet",
                hint="convert the model with a TensorType input to localise it",
            )
        return record, job

    def _prepare(
        self, record: RunRecord, job: JobSpec
    ) -> tuple[ProgramGraph, str, tuple[TensorError, ...]]:
        graph = self._graph(job)
        model_path = self._model_path(job)
        inputs = load_arrays(self.artifacts, job.inputs.sha256)
        names = [v for op in graph.ops for v in op.outputs]
        traces_sha = record_traces(model_path, inputs, names, self.artifacts)
        traces = ReferenceTraces(self.artifacts, traces_sha)
        assert record.result is not None
        by_name = {out.name: out for out in record.result.outputs}
        outputs = tuple(
            traces.error_of(var, load_array(self.artifacts, by_name[name].sha256))
            for name, var in zip((o.name for o in job.model.outputs), graph.outputs, strict=False)
            if name in by_name and var in traces.fp32
        )
        if not outputs:
            raise UsageError(f"run {record.run_id} has no outputs to compare")
        return graph, traces_sha, outputs

    def _conversion_error(self, job: JobSpec, traces_sha: str) -> float | None:
        traces = ReferenceTraces(self.artifacts, traces_sha)
        return conversion_error(job, traces, self._graph(job).outputs, self.artifacts)

    def _graph(self, job: JobSpec) -> ProgramGraph:
        _, program = read_program(self._model_path(job))
        return graph_of(program.functions["main"])

    def _model_path(self, job: JobSpec) -> Path:
        return unpack_model(self.artifacts, job.model, self.cache_dir)

    def _replace_probe(self, loc: Localisation, probe: Probe) -> Localisation:
        return loc.model_copy(update={"probes": (*loc.probes[:-1], probe)})

    def _finish(self, loc: Localisation, status: LocalisationStatus, detail: str) -> Localisation:
        done = loc.model_copy(
            update={"status": status, "detail": detail, "finished_at": datetime.now(UTC)}
        )
        self._attach(done)
        log.warning("localisation of run %s %s: %s", loc.run_id, status.value, detail)
        return done

    def _attach(self, loc: Localisation) -> bool:
        """Save ``loc`` unless it was cancelled meanwhile (a cancel from another process
        between reading the state and writing it wins); False when it was."""
        record = self.store.get_run(loc.run_id)
        current = record.result.localisation if record and record.result else None
        if (
            current is not None
            and current.status is LocalisationStatus.CANCELLED
            and loc.status is not LocalisationStatus.CANCELLED
            and current.started_at == loc.started_at
        ):
            return False
        return self.store.attach_localisation(loc.run_id, loc)
