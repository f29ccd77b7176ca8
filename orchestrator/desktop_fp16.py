"""The desktop FP16 run: the emulator running the converted program in half precision.

Triage compares a failing device with it: if the desktop FP16 run is as far off as the device,
the loss is FP16's, not the engine's; if it overflowed, the first op that did names the culprit.
Ops that are non-finite in the emulator's fp32 run too (an additive ``-inf`` mask) are not
overflow and are left out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from pomar_core.artifacts import ArtifactStore, save_arrays
from pomar_core.errors import PomarError
from pomar_core.wire import DType, ModelRef, NonFiniteOp, Reference, ReferenceKind, TensorSpec

log = logging.getLogger(__name__)


def compute_desktop_fp16(
    model: ModelRef,
    model_path: Path,
    inputs: Mapping[str, npt.NDArray[np.generic]],
    store: ArtifactStore,
) -> Reference | None:
    """The emulated fp16 outputs and their non-finite ops, stored; None when the emulator
    cannot run the model (triage then works without it)."""
    if model.model_type != "mlProgram":
        return None
    from coreml_emulator import Trace, load_program

    try:
        program = load_program(model_path)
        fp16_trace = Trace()
        outputs = program.predict(dict(inputs), precision="fp16", trace=fp16_trace)
    except PomarError as exc:
        log.info("no desktop fp16 run for %s: %s", model.name, exc.one_line())
        return None
    fp32_nonfinite = _nonfinite_in_fp32(program, inputs)
    nonfinite = tuple(
        NonFiniteOp(name=s.name, op_type=s.op_type, nan=s.nan_count, inf=s.inf_count)
        for s in fp16_trace
        if not s.finite and s.name not in fp32_nonfinite
    )
    sha256 = save_arrays(store, outputs)
    specs = tuple(
        TensorSpec(name=name, dtype=DType(str(arr.dtype)), shape=tuple(arr.shape))
        for name, arr in outputs.items()
    )
    first = (
        f"; first non-finite op: {nonfinite[0].name} ({nonfinite[0].op_type})" if nonfinite else ""
    )
    return Reference(
        sha256=sha256,
        kind=ReferenceKind.EMULATOR_FP16,
        outputs=specs,
        description=f"Pomar's emulator in fp16 on the Core ML program of {model.name}{first}",
        nonfinite_ops=nonfinite,
    )


def _nonfinite_in_fp32(program: Any, inputs: Mapping[str, npt.NDArray[np.generic]]) -> set[str]:
    """Ops non-finite even with every tensor in fp32. An fp16-converted program declares fp16
    tensors, which the plain fp32 mode honours, so this needs the upcasting mode; without it
    nothing is filtered (a legitimate ``-inf`` mask may then be named as overflow)."""
    from coreml_emulator import Trace

    trace = Trace()
    try:
        program.predict(dict(inputs), precision="fp32-upcast", trace=trace)
    except PomarError:
        return set()
    return {s.name for s in trace if not s.finite}
