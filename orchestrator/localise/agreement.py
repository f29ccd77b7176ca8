"""When a failing run's outputs agree with the emulator running the same program, no op on the
device is to blame: either FP16 costs that much, or the program itself (the conversion) misses
the source model's reference. This says which."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from orchestrator.localise.traces import ReferenceTraces, relative_l2
from pomar_core.artifacts import ArtifactStore, load_arrays
from pomar_core.wire import JobSpec, ReferenceKind, TensorError

CONVERSION_L2 = 1e-3
"""The program in fp32 further than this from a source-model reference: a conversion error."""


def agreement_text(outputs: Sequence[TensorError], conversion: float | None) -> str:
    """The localisation's detail for outputs that are all within their FP16 noise."""
    worst = max(outputs, key=lambda e: e.error / max(e.noise, 1e-12))
    within = (
        f"every output is within its FP16 noise of the emulator running this program "
        f"(worst '{worst.name}': error {worst.error:.3g}, fp16 noise {worst.noise:.3g})"
    )
    if conversion is not None and conversion > CONVERSION_L2:
        return (
            f"{within}, but the program in fp32 is {conversion:.3g} (relative L2) from the "
            "reference: the conversion, not an op on the device, is off"
        )
    return f"{within}: precision loss, no op to blame"


def conversion_error(
    job: JobSpec, traces: ReferenceTraces, output_vars: Sequence[str], artifacts: ArtifactStore
) -> float | None:
    """The largest relative L2 of the emulator's fp32 outputs against the job's reference; None
    unless the reference is the source model's (an emulator reference is the same program)."""
    if job.reference is None or job.reference.kind is not ReferenceKind.SOURCE_FP32:
        return None
    reference = load_arrays(artifacts, job.reference.sha256)
    names = (o.name for o in job.model.outputs)
    errors = [
        relative_l2(reference[name].astype(np.float64), traces.fp32[var].astype(np.float64))
        for name, var in zip(names, output_vars, strict=False)
        if name in reference and var in traces.fp32
    ]
    return max(errors, default=None)
