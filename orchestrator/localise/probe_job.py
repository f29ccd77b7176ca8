"""A probe: the failing job again, with the variant model, pinned to the failing run's device
and compute unit, one prediction, no reference (its outputs are compared by the localiser)."""

from __future__ import annotations

from datetime import UTC, datetime

from orchestrator.check_job import new_job_id
from orchestrator.store import RunRecord
from pomar_core.wire import Budgets, DeviceSelector, JobSpec, ModelRef, ProbeOf

PROBE_PRIORITY = 9
"""Probes go first: the device is waiting on them, and there are only a few."""


def probe_job_of(
    job: JobSpec, failing: RunRecord, variant: ModelRef, position: int, expose: tuple[str, ...]
) -> JobSpec:
    """The probe job exposing ``expose`` (the cut at ``position``) for ``failing``."""
    assert failing.result is not None
    return job.model_copy(
        update={
            "job_id": new_job_id(),
            "model": variant,
            "reference": None,
            "desktop_fp16": None,
            "target": DeviceSelector(device_ids=(failing.result.device.udid,)),
            "config": job.config.model_copy(
                update={
                    "compute_units": (failing.spec.compute_unit,),
                    "warmup": 0,
                    "iterations": 1,
                    "min_duration_s": 0.0,
                    "budgets": Budgets(),
                }
            ),
            "priority": PROBE_PRIORITY,
            "submitted_at": datetime.now(UTC),
            "label": f"localise {failing.run_id}",
            "probe_of": ProbeOf(run_id=failing.run_id, position=position, exposed=expose),
        }
    )
