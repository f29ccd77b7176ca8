"""The fake harness app: what happens between ``launch`` and the app's exit.

It honours the harness protocol (DESIGN, "The harness protocol"): it reads ``job.json`` and the
inputs from Documents, runs the model with the phone's predictor, writes the outputs,
``result.json`` and ``DONE`` (``FAILED`` on an app-side error), and exits. On the way, each of
the :data:`STEPS` may end the run its own way (hang, disconnect, crash, jetsam kill).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.devices.ios.fake.crash_texts import jetsam_ips, report_stamp, segfault_ips
from agent.devices.ios.fake.engine_bug import engine_bug_predictor
from agent.devices.ios.fake.footprint import program_footprint
from agent.devices.ios.fake.phone import BASELINE_BYTES, FakeIPhone, FakeProcess
from agent.devices.ios.npy import from_npy_bytes, to_npy_bytes
from pomar_core import catalog
from pomar_core.arrays import Arrays
from pomar_core.errors import PomarError
from pomar_core.wire.base import DType
from pomar_core.wire.harness import (
    HARNESS_ROOT,
    HarnessEnvironment,
    HarnessJob,
    HarnessPhaseMemory,
    HarnessResult,
    HarnessTensor,
    HarnessTimings,
)

Step = Callable[[FakeIPhone, FakeProcess, int], bool]
"""(phone, process, simulated peak bytes) → True when this step ended the run (the app then
exits without a sentinel). A step reads the phone's ``scenario`` to decide what to do."""


def _hang(phone: FakeIPhone, proc: FakeProcess, peak: int) -> bool:
    if not phone.scenario.hang:
        return False
    proc.killed.wait()  # until the agent kills it at the deadline
    return True


def _disconnect(phone: FakeIPhone, proc: FakeProcess, peak: int) -> bool:
    if not phone.scenario.disconnect_during_run:
        return False
    phone.disconnect()
    return True


def _crash(phone: FakeIPhone, proc: FakeProcess, peak: int) -> bool:
    if not phone.scenario.crash:
        return False
    phone.add_crash_report(f"Harness-{report_stamp()}.ips", segfault_ips(proc.pid, proc.bundle_id))
    return True


def _grow_to_peak(phone: FakeIPhone, proc: FakeProcess, peak: int) -> bool:
    proc.footprints.append(peak)  # loading and predicting: what sampling will see
    return False


def _jetsam(phone: FakeIPhone, proc: FakeProcess, peak: int) -> bool:
    limit = phone.scenario.jetsam_limit_bytes
    if limit is None or peak <= limit:
        return False
    proc.footprints[-1] = limit
    if phone.scenario.jetsam_report_missing:
        return True
    phone.add_crash_report(
        f"JetsamEvent-{report_stamp()}.ips", jetsam_ips(proc.pid, phone.product_type, limit)
    )
    return True


STEPS: tuple[Step, ...] = (_hang, _disconnect, _crash, _grow_to_peak, _jetsam)
"""Played in order once the job is read and ``run_delay_s`` has passed; the first that returns
True ends the run, and when none does the app writes its result. A new way for a run to end is
one function and one entry here."""


def run_app(phone: FakeIPhone, proc: FakeProcess, run_id: str) -> None:
    """The app's main, on its own thread: play the run, then mark the process exited."""
    try:
        _play(phone, proc, run_id)
    finally:
        with phone.lock:
            proc.exited.set()


def _play(phone: FakeIPhone, proc: FakeProcess, run_id: str) -> None:
    folder = f"{HARNESS_ROOT}/jobs/{run_id}"
    raw = phone.files.get(f"{folder}/job.json")
    if raw is None:
        return  # the real app exits when launched without a job
    job = HarnessJob.model_validate_json(raw)
    if proc.killed.wait(phone.scenario.run_delay_s):
        return
    model_bytes = sum(len(v) for v in phone.tree(f"{HARNESS_ROOT}/{job.model_path}").values())
    peak = phone.scenario.peak_bytes or BASELINE_BYTES + 3 * max(model_bytes, len(raw))
    if phone.scenario.footprint_from_program and not phone.scenario.peak_bytes:
        peak = BASELINE_BYTES + program_footprint(phone, job)
    if any(step(phone, proc, peak) for step in STEPS):
        return
    _finish(phone, job, folder, peak)


def _predict(phone: FakeIPhone, job: HarnessJob, folder: str) -> tuple[Arrays, str | None, Any]:
    """(outputs, error, error phase): what Core ML would have produced or thrown."""
    if phone.scenario.app_error is not None:
        return {}, phone.scenario.app_error, "predict"
    try:
        inputs = {t.name: from_npy_bytes(phone.files[f"{folder}/{t.file}"]) for t in job.inputs}
        with tempfile.TemporaryDirectory(prefix="pomar-fake-") as tmp:
            local = phone.materialise(f"{HARNESS_ROOT}/{job.model_path}", Path(tmp))
            predictor = engine_bug_predictor(phone.scenario, str(job.compute_unit))
            return (predictor or phone.predictor)(local, inputs, str(job.compute_unit)), None, None
    except PomarError as exc:
        return {}, exc.one_line(), "load"
    except Exception as exc:  # the app reports whatever Core ML throws
        return {}, f"{type(exc).__name__}: {exc}", "predict"


def _finish(phone: FakeIPhone, job: HarnessJob, folder: str, peak: int) -> None:
    outputs, error, phase = _predict(phone, job, folder)
    tensors = []
    for name in job.output_names:
        if name in outputs:
            array = outputs[name]
            if phone.scenario.output_layout_bug:
                array = array.ravel(order="F").reshape(array.shape)
            rel = f"outputs/{name}.npy"
            phone.write(f"{folder}/{rel}", to_npy_bytes(array))
            tensors.append(
                HarnessTensor(name=name, file=rel, dtype=DType(str(array.dtype)), shape=array.shape)
            )
    result = HarnessResult(
        run_id=job.run_id,
        status="error" if error else "ok",
        error=error,
        error_phase=phase,
        timings=None if error else _timings(job, phone.scenario.timings_bug),
        memory=_memory(phone, peak),
        outputs=tuple(tensors),
        environment=_environment(phone),
        warnings=() if error else (_compute_plan_warning(phone.ios_version),),
    )
    phone.write(f"{folder}/result.json", result.model_dump_json().encode())
    phone.write(f"{folder}/{'FAILED' if error else 'DONE'}", b"")


def _timings(job: HarnessJob, bug: str | None = None) -> HarnessTimings:
    step = 0 if bug == "zero" else 1
    return HarnessTimings(
        cold_load_ns=-50_000_000 if bug == "negative" else 50_000_000,
        warm_load_ns=5_000_000,
        first_prediction_ns=3_000_000 * step,
        warmup_ns=tuple(1_200_000 * step for _ in range(job.warmup)),
        prediction_ns=tuple((1_000_000 + 1000 * i) * step for i in range(job.iterations)),
    )


def _memory(phone: FakeIPhone, peak: int) -> HarnessPhaseMemory:
    limit = catalog.app_memory_limit_bytes(phone.product_type) or 0
    scale = phone.scenario.footprint_scale
    return HarnessPhaseMemory(
        before_load_bytes=int(BASELINE_BYTES * scale),
        after_load_bytes=int((BASELINE_BYTES + peak) // 2 * scale),
        after_predictions_bytes=int(peak * scale),
        peak_bytes=int(peak * scale),
        available_before_bytes=limit - BASELINE_BYTES,
    )


def _environment(phone: FakeIPhone) -> HarnessEnvironment:
    s = phone.scenario
    return HarnessEnvironment(
        thermal_state_by_phase={"start": s.thermal_state, "end": s.thermal_state},
        low_power_mode=s.low_power_mode,
        battery_level=s.battery_level,
        battery_state=s.battery_state,
        os_version=phone.ios_version,
        device_model=phone.product_type,
        app_version=phone.installed_version or "",
    )


def _compute_plan_warning(ios_version: str) -> str:
    """The fake has no Core ML, so no compute plan; the real app says why in warnings too."""
    if _version(ios_version) < (17, 4):
        return f"compute plan: needs iOS 17.4, this is {ios_version}"
    return "compute plan: the fake iPhone does not make one"


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())
