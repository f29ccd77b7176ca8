"""A fake Core ML engine bug: one named op computed wrong on one compute unit.

Real engine bugs depend on op order and compute unit (a wrong activation after a residual add on
the GPU; coremltools#2650, #1023). The fake runs the model on the emulator as usual and, right
after the named op, replaces its output with :func:`wrong_output` of it, so every later op, and
any output exposing that tensor, sees the wrong value: what localisation must find.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.devices.ios.fake.predictor import Predictor
from agent.devices.ios.fake.scenario import FakeScenario
from pomar_core.arrays import Arrays


def engine_bug_predictor(scenario: FakeScenario, compute_unit: str) -> Predictor | None:
    """The predictor of a phone whose engine has ``scenario``'s bug on ``compute_unit``;
    None when it has none there."""
    op = scenario.engine_bug_op
    if op is None or compute_unit != scenario.engine_bug_unit:
        return None

    def predict(model_path: Path, inputs: Arrays, unit: str) -> Arrays:
        import coreml_emulator as emulator  # torch is heavy: import only when a fake run needs it

        class WrongOp(emulator.Trace):
            def record(self, name: str, op_type: str, tensor: Any) -> None:
                if name == op:
                    # In place: the executor has stored this tensor for the ops that read it.
                    tensor.copy_(wrong_output(tensor))

        precision = "fp32" if unit == "cpu" else "fp16"
        return emulator.predict(model_path, inputs, precision=precision, trace=WrongOp())

    return predict


def wrong_output(tensor: Any) -> Any:
    """What the buggy kernel returns: off by half of itself and a tenth of its range."""
    return tensor * 1.5 + 0.1 * tensor.abs().max()
