"""The reference side of localisation: the emulator's fp32 and fp16 values of every tensor a
cut can expose, and the rule that says whether a device's value of one has diverged.

The fp32 trace is the emulator's ``fp32-upcast`` mode (an fp16-converted program recomputed
with every tensor in fp32); the fp16 traces are the program as converted, in half precision:
``fp16`` (half storage, fp32 arithmetic, like most GPU kernels) and ``fp16-strict`` (half
accumulation too, the pessimistic bound: Neural Engine and some GPU kernels accumulate in
half). A tensor's FP16 noise is the larger distance of the two from fp32, so a device that
merely accumulates in half is not blamed; the device's value has diverged when it is further
from fp32 than :data:`AS_FAR_OFF` times that noise (the rule triage uses for whole outputs), or
holds NaN/Inf where the fp16 run is finite.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from orchestrator.parity.triage import AS_FAR_OFF, NOISE_FLOOR
from pomar_core.arrays import Array, Arrays
from pomar_core.artifacts import ArtifactStore, load_arrays, save_arrays
from pomar_core.errors import PomarError
from pomar_core.wire import TensorError

_FP32, _FP16, _STRICT = "fp32.", "fp16.", "strict."


def record_traces(
    model_path: Path, inputs: Mapping[str, Array], names: Sequence[str], store: ArtifactStore
) -> str:
    """Run the emulator in both modes and store the values of ``names``; the artifact's sha."""
    from coreml_emulator import Trace, load_program  # torch is heavy: only when localising

    program = load_program(model_path)
    arrays: dict[str, Array] = {}
    for prefix, mode in ((_FP32, "fp32-upcast"), (_FP16, "fp16"), (_STRICT, "fp16-strict")):
        trace = Trace(keep_tensors=True)
        try:
            program.predict(dict(inputs), precision=mode, trace=trace)
        except PomarError:
            if prefix == _STRICT:
                continue  # a kernel without a strict mode: the fp16 noise alone then
            raise
        for name in names:
            if name in trace.tensors:
                arrays[prefix + name] = trace.tensors[name]
    return save_arrays(store, arrays)


class ReferenceTraces:
    """The stored traces of one localisation."""

    def __init__(self, store: ArtifactStore, sha256: str) -> None:
        arrays = load_arrays(store, sha256)
        self.fp32: Arrays = {k[len(_FP32) :]: v for k, v in arrays.items() if k.startswith(_FP32)}
        self.fp16: Arrays = {k[len(_FP16) :]: v for k, v in arrays.items() if k.startswith(_FP16)}
        self.strict: Arrays = {
            k[len(_STRICT) :]: v for k, v in arrays.items() if k.startswith(_STRICT)
        }

    def error_of(self, name: str, device: Array) -> TensorError:
        """How far the device's value of ``name`` is from fp32, and whether it diverged."""
        ref = self.fp32[name].astype(np.float64)
        fp16 = self.fp16.get(name, self.fp32[name]).astype(np.float64)
        got = np.asarray(device, dtype=np.float64).reshape(ref.shape)
        error = relative_l2(ref, got)
        noise = relative_l2(ref, fp16)
        if name in self.strict:
            strict = self.strict[name].astype(np.float64)
            noise = max(noise, relative_l2(ref, strict))
        new_nonfinite = _nonfinite_where_finite(ref, got) > _nonfinite_where_finite(ref, fp16)
        diverged = new_nonfinite or error > AS_FAR_OFF * max(noise, NOISE_FLOOR)
        return TensorError(name=name, error=error, noise=noise, diverged=diverged)


def exact(name: str) -> TensorError:
    """A program input: the device got it as given."""
    return TensorError(name=name, error=0.0, noise=0.0, diverged=False)


def relative_l2(reference: Array, actual: Array) -> float:
    """``‖actual − reference‖ / ‖reference‖`` over the entries finite in both."""
    mask = np.isfinite(reference) & np.isfinite(actual)
    norm = float(np.linalg.norm(reference[mask]))
    diff = float(np.linalg.norm((actual - reference)[mask]))
    if norm == 0.0:
        return 0.0 if diff == 0.0 else math.inf
    return diff / norm


def _nonfinite_where_finite(reference: Array, actual: Array) -> int:
    return int(np.count_nonzero(np.isfinite(reference) & ~np.isfinite(actual)))
