"""The emulated device's executor: runs a Core ML ML program on the CPU with torch kernels.

It models numerics (fp32, half-precision storage, half-precision accumulation), not Apple's
kernels, fusions or timings.

::

    from coreml_emulator import load_program, predict, Trace

    outputs = predict("model.mlpackage", {"x": x}, precision="fp16")

    program = load_program(mlmodel)            # parse and decode weights once
    trace = Trace()
    program.predict({"x": x}, precision="fp16", trace=trace)
    trace.first_nonfinite()                     # first op that produced Inf/NaN
    program.memory_model("fp16")                # weight and peak activation bytes
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy.typing as npt

from coreml_emulator.cache import cached_program
from coreml_emulator.memory import MemoryModel
from coreml_emulator.precision import Precision
from coreml_emulator.program import EmulatedProgram, load_program
from coreml_emulator.trace import Divergence, TensorStats, Trace, first_divergence
from pomar_core.arrays import Arrays
from pomar_core.errors import UnsupportedOpError

__all__ = [
    "Divergence",
    "EmulatedProgram",
    "MemoryModel",
    "Precision",
    "TensorStats",
    "Trace",
    "UnsupportedOpError",
    "first_divergence",
    "load_program",
    "predict",
]


def predict(
    model: Any,
    inputs: Mapping[str, npt.NDArray[Any]],
    *,
    precision: str | Precision = "fp32",
    trace: Trace | None = None,
    convert_inputs: bool = False,
) -> Arrays:
    """Run ``model`` (an ``MLModel``, a path, or an ``EmulatedProgram``) once on ``inputs``.

    The parsed program is cached by the model's content, so calling this repeatedly on one
    model parses it once: it can stand in for ``MLModel.predict``. With ``convert_inputs``
    inputs are converted to the declared types as Core ML does (a stand-in's choice; Pomar's
    own checks validate a user's inputs strictly before they get here).

    Returns outputs keyed by the model's output names, in the dtypes the model declares.
    Raises ``ModelError`` for a model the emulator cannot take (not an ML program),
    ``UnsupportedOpError`` for an op without a kernel, ``InputsError`` for inputs that do not fit.
    """
    return cached_program(model).predict(
        inputs, precision=precision, trace=trace, convert_inputs=convert_inputs
    )
