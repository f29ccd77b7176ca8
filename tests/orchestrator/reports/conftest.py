"""Runs covering every status a report must render, with parity from real comparisons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from orchestrator.parity import compare
from pomar_core.wire import (
    ComputeUnit,
    DeviceInfo,
    DeviceKind,
    LatencyStats,
    MemoryStats,
    RunResult,
    RunStatus,
    Timings,
    TriageLabel,
)

PHONE = DeviceInfo(
    udid="00008110-000A",
    kind=DeviceKind.IOS,
    product_type="iPhone15,2",
    marketing_name="iPhone 14 Pro",
    ram_bytes=6 * 2**30,
)
EMU = DeviceInfo(
    udid="emulated-0", kind=DeviceKind.EMULATED, product_type="Emulator", marketing_name="Emulator"
)


def reference_outputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "logits": rng.standard_normal((1, 10)).astype(np.float32),
        "features": rng.standard_normal((1, 4, 8, 8)).astype(np.float32) * 300,
    }


def overflowed_outputs() -> dict[str, np.ndarray]:
    out = {k: v.astype(np.float16) for k, v in reference_outputs().items()}
    out["features"][0, 1, 2, 3] = np.inf
    out["features"][0, 0, 0, :2] = np.nan
    return out


@pytest.fixture(scope="module")
def runs() -> list[RunResult]:
    ref = reference_outputs()
    good = compare(ref, {k: v.astype(np.float16) for k, v in ref.items()}, precision="fp16")
    bad = compare(ref, overflowed_outputs(), precision="fp16").model_copy(
        update={
            "triage": TriageLabel.FP16_OVERFLOW,
            "triage_detail": "first overflowing op 'pow_3'",
        }
    )
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    lat = Timings(latency=LatencyStats.from_samples([4.0, 4.2, 4.1, 5.0, 4.4]))
    mem = MemoryStats(peak_bytes=900 * 2**20, device_limit_bytes=3 * 2**30)

    def run(i: int, device: DeviceInfo, unit: ComputeUnit, status: RunStatus, **kw: object):
        return RunResult(
            run_id=f"r{i}",
            job_id="j1",
            device=device,
            compute_unit=unit,
            status=status,
            started_at=t0,
            finished_at=t0 + timedelta(seconds=2 + i),
            **kw,  # type: ignore[arg-type]
        )

    return [
        run(0, PHONE, ComputeUnit.CPU, RunStatus.PASSED, parity=good, timings=lat, memory=mem),
        run(
            1, PHONE, ComputeUnit.ANE, RunStatus.PARITY_FAILED, parity=bad, timings=lat, memory=mem
        ),
        run(2, PHONE, ComputeUnit.GPU, RunStatus.OOM_KILLED, error="killed by jetsam at 3.1 GiB"),
        run(
            3,
            EMU,
            ComputeUnit.CPU,
            RunStatus.BUDGET_FAILED,
            parity=good,
            timings=lat,
            error="p50 latency 4.2 ms exceeds the budget of 1 ms",
        ),
        run(4, EMU, ComputeUnit.ALL, RunStatus.CANCELLED),
    ]
