"""Runs one ``RunSpec`` on one device: fetch artifacts, run, upload outputs, build the result.

The bookkeeping every backend would otherwise repeat lives here once. Model failures come
back as results; infrastructure failures (a lost device) come back as ``device_lost`` results
that the coordinator retries on another device of the pool.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

from agent.device import Device, Outcome, RunOutcome, RunRequest
from pomar_core import metrics
from pomar_core.artifacts import ArtifactStore, load_arrays, save_array
from pomar_core.errors import DeviceError, DeviceLost, PomarError, UsageError
from pomar_core.logs import log_context
from pomar_core.model_archive import cached_model_path, unpack_model
from pomar_core.wire import DType, OutputRef, RunResult, RunSpec, RunStatus

log = logging.getLogger(__name__)

_STATUS = {
    Outcome.COMPLETED: RunStatus.PASSED,  # provisional: the coordinator judges parity
    Outcome.OOM_KILLED: RunStatus.OOM_KILLED,
    Outcome.CRASHED: RunStatus.CRASHED,
    Outcome.TIMEOUT: RunStatus.TIMEOUT,
    Outcome.DEVICE_LOST: RunStatus.DEVICE_LOST,
    Outcome.ERROR: RunStatus.ERROR,
    Outcome.CANCELLED: RunStatus.CANCELLED,
}


class DeviceRunExecutor:
    """Executes runs on one device. Thread-confined: one per device worker."""

    def __init__(self, device: Device, artifacts: ArtifactStore, model_cache: Path) -> None:
        self.device = device
        self.artifacts = artifacts
        self.model_cache = model_cache

    @property
    def device_udid(self) -> str:
        return self.device.info.udid

    def admit(self, spec: RunSpec) -> bool:
        """Only runs for this device (or for any device of a queue it serves)."""
        if spec.device_id is not None and spec.device_id != self.device_udid:
            log.warning(
                "run %s is for %s, not %s: dropped", spec.run_id, spec.device_id, self.device_udid
            )
            return False
        return True

    def execute(self, spec: RunSpec, cancel: threading.Event | None = None) -> RunResult:
        """Run ``spec``; setting ``cancel`` asks the device to stop (where it can)."""
        started = datetime.now(UTC)
        try:
            with log_context(job_id=spec.job_id, run_id=spec.run_id, device_id=self.device_udid):
                outcome = self._run(spec, cancel)
        except DeviceLost as exc:
            outcome = RunOutcome(Outcome.DEVICE_LOST, error=exc.one_line())
        except DeviceError as exc:
            # Not ready, transport down, app missing: the farm, not the model, failed.
            outcome = RunOutcome(Outcome.DEVICE_LOST, error=exc.one_line())
        except UsageError as exc:
            outcome = RunOutcome(Outcome.ERROR, error=exc.one_line())
        except PomarError as exc:
            outcome = RunOutcome(Outcome.ERROR, error=exc.one_line())
        except Exception as exc:  # a bug in a backend must not kill the worker silently
            log.exception("run %s crashed the agent's backend", spec.run_id)
            outcome = RunOutcome(Outcome.ERROR, error=f"internal error: {exc!r}")
        return self._result(spec, outcome, started)

    def _run(self, spec: RunSpec, cancel: threading.Event | None) -> RunOutcome:
        metrics.record_cache(cached_model_path(spec.model, self.model_cache).exists())
        model_path = unpack_model(self.artifacts, spec.model, self.model_cache)
        inputs = load_arrays(self.artifacts, spec.inputs.sha256)
        request = RunRequest(
            run_id=spec.run_id,
            model=spec.model,
            model_path=model_path,
            inputs=inputs,
            compute_unit=spec.compute_unit,
            config=spec.config,
            cancel=cancel,
        )
        return self.device.run(request)

    def _result(self, spec: RunSpec, outcome: RunOutcome, started: datetime) -> RunResult:
        outputs = tuple(
            OutputRef(
                name=name,
                sha256=save_array(self.artifacts, array),
                dtype=DType(str(array.dtype)),
                shape=tuple(int(d) for d in array.shape),
            )
            for name, array in outcome.outputs.items()
        )
        return RunResult(
            run_id=spec.run_id,
            job_id=spec.job_id,
            device=self.device.info,
            compute_unit=spec.compute_unit,
            status=_STATUS[outcome.outcome],
            attempt=spec.attempt,
            started_at=started,
            finished_at=datetime.now(UTC),
            timings=outcome.timings,
            memory=outcome.memory,
            outputs=outputs,
            compute_plan=outcome.compute_plan,
            thermal_state=outcome.thermal_state,
            environment=outcome.environment,
            error=outcome.error,
            warnings=outcome.warnings,
        )
