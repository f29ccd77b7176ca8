"""The harness protocol, agent side (DESIGN, "The harness protocol").

One run: make sure the model is in the device cache, write ``job.json`` and the inputs, launch
the app with ``--pomar-run <run_id>``, sample its memory, wait for ``DONE``/``FAILED`` or exit
(killing it at the deadline), pull ``result.json`` and the outputs, classify, clean the job folder.
Model failures (OOM kill, crash, timeout, an app-side error) are outcomes; a device that goes away
raises ``DeviceLost`` so the farm runs it elsewhere.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Protocol

from pydantic import ValidationError

from agent.device import Outcome, RunOutcome, RunRequest
from agent.devices.ios.config import IosConfig
from agent.devices.ios.jetsam import ExitDiagnosis, ExitKind, diagnose_exit
from agent.devices.ios.model_cache import ModelCache
from agent.devices.ios.npy import from_npy_bytes, to_npy_bytes
from agent.devices.ios.services.files import AppFiles
from agent.devices.ios.services.processes import AppProcesses
from agent.devices.ios.services.reports import BoundedLines, DeviceReports, LogStream
from agent.devices.ios.services.sampling import MemorySampling, Sampler
from agent.devices.ios.services.status import DeviceFacts, FactsReader
from pomar_core.arrays import Arrays
from pomar_core.errors import DeviceError, DeviceLost, PomarError, ProtocolError
from pomar_core.wire import (
    ComputePlanEntry,
    LatencyStats,
    MemoryStats,
    RunEnvironment,
    Timings,
)
from pomar_core.wire.base import DType
from pomar_core.wire.harness import (
    HARNESS_ROOT,
    HarnessEnvironment,
    HarnessJob,
    HarnessResult,
    HarnessTensor,
)

log = logging.getLogger(__name__)

THERMAL_ORDER = ("nominal", "fair", "serious", "critical")
TOO_HOT = frozenset({"serious", "critical"})


def job_dir(run_id: str) -> str:
    return f"{HARNESS_ROOT}/jobs/{run_id}"


MAX_DURATION_SHARE_OF_TIMEOUT = 0.5
"""``max_duration_s`` in job.json: the timed loop may use half the run's timeout; the rest is
for compiling, loading, writing outputs and the agent's polling."""


def run_environment(
    before: DeviceFacts, after: DeviceFacts | None, app: HarnessEnvironment | None
) -> RunEnvironment:
    """Device state around a run, from lockdown before and after and from what the app saw.

    pymobiledevice3 reports neither thermal state nor Low Power Mode (both are ``None`` in the
    facts of a real phone), so the app's first and last phase fill them in when it wrote a
    result; battery comes from lockdown, falling back to the app's ``UIDevice`` reading.
    """
    phases = app.thermal_state_by_phase if app else {}
    first = phases.get("start") or next(iter(phases.values()), None)
    last = phases.get("end") or worst_thermal(list(phases.values()))
    low_power_seen = [
        v
        for v in (
            before.low_power_mode,
            after.low_power_mode if after else None,
            app.low_power_mode if app else None,
        )
        if v is not None
    ]
    battery_before = before.battery_level
    if battery_before is None and app is not None:
        battery_before = app.battery_level
    return RunEnvironment(
        battery_before=battery_before,
        battery_after=after.battery_level if after else None,
        thermal_before=before.thermal_state or first,
        thermal_after=(after.thermal_state if after else None) or last,
        # On at any point means the numbers were taken (at least partly) throttled.
        low_power_mode=any(low_power_seen) if low_power_seen else None,
    )


def worst_thermal(states: list[str]) -> str | None:
    known = [s for s in states if s in THERMAL_ORDER]
    return max(known, key=THERMAL_ORDER.index) if known else None


def _ms(ns: int | None) -> float | None:
    return None if ns is None else ns / 1e6


class HarnessServices(FactsReader, AppFiles, AppProcesses, MemorySampling, DeviceReports, Protocol):
    """What a run needs of a device session: facts, files, processes, sampling and reports
    (not installing, not readiness: the device check does those)."""


class HarnessRunner:
    """Runs :class:`RunRequest`\\ s on one device session through the harness app."""

    def __init__(self, session: HarnessServices, config: IosConfig) -> None:
        self.session = session
        self.config = config
        self.cache = ModelCache(config.bundle_id, config.cache_budget_bytes)
        self.last_environment: RunEnvironment | None = None
        """The environment of the latest run, also in its outcome (kept for ``pomar devices``)."""
        self._facts: DeviceFacts | None = None

    # -- public -----------------------------------------------------------------------------

    def run(self, request: RunRequest) -> RunOutcome:
        """Run one request. Outcomes for model failures; raises ``DeviceError`` otherwise."""
        try:
            return self._run(request)
        except PomarError as exc:
            if exc.run_id is None:
                exc.run_id = request.run_id
            raise

    # -- steps ------------------------------------------------------------------------------

    def _run(self, request: RunRequest) -> RunOutcome:
        bundle = self.config.bundle_id
        before = self.session.facts()
        self._facts = before
        refusal = self._refusal(before.low_power_mode, [before.thermal_state or ""])
        if refusal:
            self.last_environment = run_environment(before, None, None)
            return RunOutcome(
                Outcome.ERROR,
                thermal_state=before.thermal_state,
                error=refusal,
                environment=self.last_environment,
            )

        cached = self.cache.ensure(self.session, request.model.sha256, request.model_path)
        folder = job_dir(request.run_id)
        self.session.remove(bundle, folder)
        self.session.write_files(bundle, self._job_files(request, cached.model_path))
        known_reports = {r.path for r in self.session.crash_reports()}

        lost = False
        sampler: Sampler | None = None
        logs: LogStream | None = None
        lines = BoundedLines(limit=50)
        app_environment: HarnessEnvironment | None = None
        try:
            pid = self.session.launch(bundle, ["--pomar-run", request.run_id])
            sampler = self.session.start_sampling(pid, self.config.sample_interval_ms)
            logs = self.session.stream_log(pid, lines.add)
            sentinel, exited = self._wait(folder, pid, request)
            samples = sampler.stop()
            sampler = None
            peak_sampled = max((s.phys_footprint_bytes for s in samples), default=None)
            if sentinel is None and not exited and request.cancelled:
                self._kill_quietly(pid)
                outcome = RunOutcome(
                    Outcome.CANCELLED,
                    memory=self._sampled_memory(peak_sampled),
                    error="cancelled: the app was killed",
                )
            elif sentinel is None and not exited:
                self._kill_quietly(pid)
                outcome = RunOutcome(
                    Outcome.TIMEOUT,
                    memory=self._sampled_memory(peak_sampled),
                    error=f"no result after {request.config.timeout_s:g} s; the app was killed",
                )
            elif sentinel is None:
                diagnosis = self._diagnose(pid, known_reports)
                outcome = self._exit_outcome(diagnosis, peak_sampled, lines)
            else:
                self._wait_exit(pid)
                outcome, app_environment = self._collect(request, folder, sentinel, peak_sampled)
            after = self.session.facts()
            self.last_environment = run_environment(before, after, app_environment)
            log.info(
                "run %s on %s: %s, %s, model bytes pushed %d",
                request.run_id,
                self.session.udid,
                outcome.outcome,
                self.last_environment,
                cached.pushed_bytes,
            )
            return replace(outcome, environment=self.last_environment)
        except DeviceLost:
            lost = True
            raise
        finally:
            for handle in (sampler, logs):
                if handle is not None:
                    handle.stop()
            if not lost:
                try:
                    self.session.remove(bundle, folder)
                except DeviceError as exc:  # cleanup must not mask the outcome
                    log.warning("could not clean %s on %s: %s", folder, self.session.udid, exc)

    def _job_files(self, request: RunRequest, model_path: str) -> dict[str, bytes]:
        folder = job_dir(request.run_id)
        files: dict[str, bytes] = {}
        tensors = []
        for name, array in request.inputs.items():
            rel = f"inputs/{name}.npy"
            files[f"{folder}/{rel}"] = to_npy_bytes(array)
            spec = next((t for t in request.model.inputs if t.name == name), None)
            tensors.append(
                HarnessTensor(
                    name=name,
                    file=rel,
                    dtype=DType(str(array.dtype)),
                    shape=tuple(int(d) for d in array.shape),
                    is_image=bool(spec and spec.is_image),
                )
            )
        job = HarnessJob(
            run_id=request.run_id,
            model_sha256=request.model.sha256,
            model_path=model_path,
            compute_unit=request.compute_unit,
            low_precision_accumulation_on_gpu=request.config.low_precision_accumulation_on_gpu,
            warmup=request.config.warmup,
            iterations=request.config.iterations,
            min_duration_s=request.config.min_duration_s,
            max_duration_s=request.config.timeout_s * MAX_DURATION_SHARE_OF_TIMEOUT,
            inputs=tuple(tensors),
            output_names=tuple(o.name for o in request.model.outputs),
        )
        # job.json last: the app may start reading as soon as it exists.
        files[f"{folder}/job.json"] = job.model_dump_json(indent=2).encode()
        return files

    def _wait(self, folder: str, pid: int, request: RunRequest) -> tuple[str | None, bool]:
        """(sentinel or None, exited). Neither set means the deadline passed or the run was
        cancelled (``request.cancelled`` tells which)."""
        deadline = time.monotonic() + request.config.timeout_s
        while True:
            if request.cancelled:
                return None, False
            sentinel = self._sentinel(folder)
            if sentinel:
                return sentinel, False
            if not self.session.is_running(pid):
                # The app writes the sentinel and then exits: look once more.
                return self._sentinel(folder), True
            if time.monotonic() >= deadline:
                return None, False
            time.sleep(self.config.poll_interval_s)

    def _sentinel(self, folder: str) -> str | None:
        names = set(self.session.list_dir(self.config.bundle_id, folder))
        for name in ("DONE", "FAILED"):
            if name in names:
                return name
        return None

    def _wait_exit(self, pid: int) -> None:
        deadline = time.monotonic() + self.config.exit_grace_s
        while self.session.is_running(pid):
            if time.monotonic() >= deadline:
                self._kill_quietly(pid)
                return
            time.sleep(self.config.poll_interval_s)

    def _kill_quietly(self, pid: int) -> None:
        try:
            self.session.kill(pid)
        except DeviceLost:
            raise
        except DeviceError as exc:  # it may have exited on its own meanwhile
            log.info("kill %d on %s: %s", pid, self.session.udid, exc)

    def _diagnose(self, pid: int, known: set[str]) -> ExitDiagnosis:
        deadline = time.monotonic() + self.config.crash_report_wait_s
        seen: dict[str, str] = {}
        diagnosis = ExitDiagnosis(ExitKind.UNKNOWN, "exited without a sentinel and left no report")
        while True:
            for ref in self.session.crash_reports():
                if ref.path not in known and ref.path not in seen:
                    seen[ref.path] = self.session.read_crash_report(ref.path)
            diagnosis = diagnose_exit(pid, list(seen.items()))
            if diagnosis.kind is not ExitKind.UNKNOWN or time.monotonic() >= deadline:
                return diagnosis
            time.sleep(self.config.poll_interval_s)

    def _exit_outcome(
        self, diagnosis: ExitDiagnosis, peak_sampled: int | None, lines: BoundedLines
    ) -> RunOutcome:
        memory = self._sampled_memory(
            max(p for p in (peak_sampled, diagnosis.footprint_bytes, 0) if p is not None) or None
        )
        if diagnosis.kind is ExitKind.OOM_KILLED:
            return RunOutcome(Outcome.OOM_KILLED, memory=memory, error=diagnosis.detail)
        detail = diagnosis.detail
        if diagnosis.kind is ExitKind.UNKNOWN and lines.lines:
            detail += f"; last log line: {lines.lines[-1].message[:200]}"
        return RunOutcome(Outcome.CRASHED, memory=memory, error=detail)

    def _sampled_memory(self, peak: int | None) -> MemoryStats:
        limit = self._facts.app_memory_limit_bytes if self._facts else None
        return MemoryStats(
            peak_bytes=peak,
            device_limit_bytes=limit,
            source="dvt_sysmontap" if peak is not None else None,
        )

    def _collect(
        self, request: RunRequest, folder: str, sentinel: str, peak_sampled: int | None
    ) -> tuple[RunOutcome, HarnessEnvironment | None]:
        """The outcome from ``result.json`` and the outputs, with what the app saw of the device."""
        bundle = self.config.bundle_id
        raw = self.session.read_file(bundle, f"{folder}/result.json")
        if raw is None:
            return RunOutcome(
                Outcome.ERROR, error=f"the app wrote {sentinel} but no result.json"
            ), None
        try:
            result = HarnessResult.model_validate_json(raw)
        except ValidationError as exc:
            raise ProtocolError(
                f"result.json does not match the harness protocol: {exc.errors()[0]['msg']}",
                hint="rebuild and reinstall the harness app from this version of Pomar",
                device_udid=self.session.udid,
            ) from exc
        return self._outcome(result, folder, sentinel, peak_sampled), result.environment

    def _outcome(
        self, result: HarnessResult, folder: str, sentinel: str, peak_sampled: int | None
    ) -> RunOutcome:
        bundle = self.config.bundle_id
        env = result.environment
        thermal = worst_thermal(list(env.thermal_state_by_phase.values()))
        if result.status == "error" or sentinel == "FAILED":
            phase = f" during {result.error_phase}" if result.error_phase else ""
            return RunOutcome(
                Outcome.ERROR,
                thermal_state=thermal,
                error=f"the app failed{phase}: {result.error or 'no message'}",
                warnings=result.warnings,
            )
        refusal = self._refusal(env.low_power_mode, list(env.thermal_state_by_phase.values()))
        if refusal:
            return RunOutcome(
                Outcome.ERROR, thermal_state=thermal, error=refusal, warnings=result.warnings
            )
        outputs: Arrays = {}
        for tensor in result.outputs:
            data = self.session.read_file(bundle, f"{folder}/{tensor.file}")
            if data is None:
                return RunOutcome(
                    Outcome.ERROR, error=f"result.json lists output {tensor.name} but no file"
                )
            outputs[tensor.name] = from_npy_bytes(data, name=tensor.file)
        warnings = list(result.warnings)
        if thermal and thermal != "nominal":
            warnings.append(f"thermal state reached {thermal} during the run")
        return RunOutcome(
            Outcome.COMPLETED,
            outputs=outputs,
            timings=self._timings(result),
            memory=self._memory(result, peak_sampled),
            compute_plan=tuple(
                ComputePlanEntry(
                    op=op.op,
                    op_type=op.op_type,
                    preferred=op.preferred,
                    supported=op.supported,
                    cost_weight=op.cost_weight,
                )
                for op in result.compute_plan
            ),
            thermal_state=thermal,
            warnings=tuple(warnings),
        )

    @staticmethod
    def _refusal(low_power: bool | None, thermal_states: list[str]) -> str | None:
        if low_power:
            return (
                "refused to time: the device is in Low Power Mode, which caps CPU and GPU speed;"
                " turn it off in Settings > Battery"
            )
        hot = worst_thermal(thermal_states)
        if hot in TOO_HOT:
            return f"refused to time: the device is thermally {hot}; let it cool down and retry"
        return None

    @staticmethod
    def _timings(result: HarnessResult) -> Timings:
        t = result.timings
        if t is None:
            return Timings()
        samples = [ns / 1e6 for ns in t.prediction_ns]
        return Timings(
            compile_ms=_ms(t.compile_ns),
            cold_load_ms=_ms(t.cold_load_ns),
            warm_load_ms=_ms(t.warm_load_ns),
            first_prediction_ms=_ms(t.first_prediction_ns),
            latency=LatencyStats.from_samples(samples) if samples else None,
        )

    def _memory(self, result: HarnessResult, peak_sampled: int | None) -> MemoryStats:
        m = result.memory
        limit = self._facts.app_memory_limit_bytes if self._facts else None
        if m is None:
            return self._sampled_memory(peak_sampled)
        if m.available_before_bytes is not None:
            # What the OS said it would still grant, plus what the app already used: the
            # device's real limit for this app, entitlements included.
            limit = m.before_load_bytes + m.available_before_bytes
        peak = max(m.peak_bytes, peak_sampled or 0)
        return MemoryStats(
            peak_bytes=peak,
            baseline_bytes=m.before_load_bytes,
            after_load_bytes=m.after_load_bytes,
            device_limit_bytes=limit,
            source="phys_footprint",
        )
