"""What the fake harness app runs a model with: by default, the CPU emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pomar_core.arrays import Arrays

Predictor = Callable[[Path, Arrays, str], Arrays]
"""(local model path, inputs, compute unit) → outputs."""


def emulator_predictor(model_path: Path, inputs: Arrays, compute_unit: str) -> Arrays:
    """Run the model on the CPU emulator: fp32 for ``cpu``, fp16 for the accelerators."""
    import coreml_emulator as emulator  # torch is heavy: import only when a fake run needs it

    precision = "fp32" if compute_unit == "cpu" else "fp16"
    return emulator.predict(model_path, inputs, precision=precision)
