"""A finished job in a store without any device: two runs recorded as an agent would have
(one passed, one failed parity with a triage label), and the device in the registry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np

from orchestrator.parity import compare
from orchestrator.store import DeviceRecord, JobStore
from pomar_core.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    DeviceState,
    LatencyStats,
    MemoryStats,
    RunResult,
    RunStatus,
    Timings,
    TriageLabel,
)
from tests.factories import job_spec, run_spec

PHONE = DeviceInfo(
    udid="seed-phone-1",
    kind=DeviceKind.IOS,
    product_type="iPhone15,2",
    marketing_name="iPhone 14 Pro",
    os_version="17.4",
    ram_bytes=6 * 2**30,
)


def seed_finished_job(
    store: JobStore,
    label: str,
    *,
    runs: int = 2,
    model: str | None = None,
    os_version: str = "17.4",
) -> str:
    """A job of ``runs`` finished runs on one phone, alternating passed / parity_failed."""
    job = job_spec(f"job-{label}-{uuid.uuid4().hex[:8]}")
    job = job.model_copy(
        update={
            "label": label,
            "model": job.model.model_copy(update={"name": model or f"{label}.mlpackage"}),
        }
    )
    units = [ComputeUnit.CPU, ComputeUnit.ANE, ComputeUnit.GPU, ComputeUnit.ALL]
    specs = [run_spec(job, i, device_id=None, unit=units[i % 4]) for i in range(runs)]
    store.add_job(job, [(s, "pomar.pool.iPhone15,2") for s in specs])
    rng = np.random.default_rng(0)
    ref = {"y": rng.standard_normal((1, 8)).astype(np.float32)}
    good = compare(ref, {"y": ref["y"].astype(np.float16)}, precision="fp16")
    bad_out = {"y": ref["y"] * 3}
    bad = compare(ref, bad_out, precision="fp16").model_copy(
        update={
            "triage": TriageLabel.FP16_OVERFLOW,
            "triage_detail": "first overflowing op 'pow_3'",
        }
    )
    phone = PHONE.model_copy(update={"os_version": os_version})
    now = datetime.now(UTC)
    for i, spec in enumerate(specs):
        passed = i % 2 == 0
        store.mark_running(spec.run_id, phone.udid)
        store.record_result(
            RunResult(
                run_id=spec.run_id,
                job_id=job.job_id,
                device=phone,
                compute_unit=spec.compute_unit,
                status=RunStatus.PASSED if passed else RunStatus.PARITY_FAILED,
                started_at=now - timedelta(seconds=3),
                finished_at=now + timedelta(milliseconds=i),
                timings=Timings(latency=LatencyStats.from_samples([4.0 + i % 3, 4.2, 4.1])),
                memory=MemoryStats(peak_bytes=(100 + i) * 2**20, device_limit_bytes=3 * 2**30),
                parity=good if passed else bad,
            )
        )
    store.save_device(
        DeviceRecord(info=phone, state=DeviceState.IDLE, first_seen=now, last_seen=now)
    )
    return job.job_id
