"""A fake run's footprint from the program itself: the emulator's memory model (weights plus
the peak of live activations) of the model pushed to the phone, as a real Core ML run grows.

Only computed, never allocated: a model sized to be killed for memory is killed before it runs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from agent.devices.ios.fake.phone import FakeIPhone
from pomar_core.wire.harness import HARNESS_ROOT, HarnessJob


def program_footprint(phone: FakeIPhone, job: HarnessJob) -> int:
    """Bytes the job's model needs on its compute unit (fp32 on ``cpu``, fp16 elsewhere)."""
    import coreml_emulator as emulator  # torch is heavy: only when a scenario asks for it

    precision = "fp32" if str(job.compute_unit) == "cpu" else "fp16"
    with tempfile.TemporaryDirectory(prefix="pomar-fake-") as tmp:
        local = phone.materialise(f"{HARNESS_ROOT}/{job.model_path}", Path(tmp))
        return int(emulator.load_program(local).memory_model(precision).total_bytes or 0)
