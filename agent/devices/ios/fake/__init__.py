"""A scripted fake iPhone with the same transport/session services as the real adapter.

On ``launch(bundle, ["--pomar-run", id])`` a background thread plays the harness app: it reads
``job.json`` and the inputs from its in-memory Documents, "runs" the model (with the CPU
emulator by default), writes the outputs, ``result.json`` and ``DONE``, and exits. A
:class:`FakeScenario` scripts what goes wrong: a locked device, no developer mode, no disk
image, a missing app, a slow run, a hang, a crash, a jetsam kill above a memory level, a
disconnect mid-run, Low Power Mode or heat. Used by the tests and by ``pomar agent --fake-ios N``.

The modules, one concept each:

- ``scenario.py``: :class:`FakeScenario`, one field per scripted behaviour;
- ``phone.py``: :class:`FakeIPhone`, the device's state (Documents, processes, crash reports);
- ``session.py``: :class:`FakeSession`, the session services over a phone, and its guards;
- ``app.py``: the fake harness app, a run played as a list of ``STEPS``;
- ``crash_texts.py``: the ``.ips`` texts the phone writes (jetsam, segfault);
- ``engine_bug.py``: a Core ML engine that gets one named op wrong on one compute unit;
- ``footprint.py``: a run's footprint from the program's memory model (opt-in);
- ``transport.py``, ``fleet.py``: phones attached to a host; several at once.

Adding a scenario is one field in ``FakeScenario`` (default: healthy) plus where it acts:

- the device refuses a verb (locked, no trust…): a check in a ``FakeSession._require_*`` guard,
  or a field of ``facts()``/``readiness()``;
- the run ends another way (hang, crash, jetsam…): a step function in ``app.py`` and its entry
  in ``STEPS`` (a new crash-report text goes in ``crash_texts.py``);
- the app reports something else (an error, heat, Low Power Mode): ``app._finish`` and the
  helpers it calls.

Then a test in ``tests/agent/devices/ios/test_fake_runs.py`` naming the outcome it scripts.
"""

from agent.devices.ios.fake.fleet import (
    FAKE_PRODUCT_TYPES,
    FAST_CONFIG,
    fake_ios_devices,
    fake_iphones,
)
from agent.devices.ios.fake.phone import BASELINE_BYTES, FakeIPhone, FakeProcess
from agent.devices.ios.fake.predictor import Predictor, emulator_predictor
from agent.devices.ios.fake.scenario import FakeScenario
from agent.devices.ios.fake.session import FakeLogStream, FakeSampler, FakeSession
from agent.devices.ios.fake.transport import FakeTransport

__all__ = [
    "BASELINE_BYTES",
    "FAKE_PRODUCT_TYPES",
    "FAST_CONFIG",
    "FakeIPhone",
    "FakeLogStream",
    "FakeProcess",
    "FakeSampler",
    "FakeScenario",
    "FakeSession",
    "FakeTransport",
    "Predictor",
    "emulator_predictor",
    "fake_ios_devices",
    "fake_iphones",
]
