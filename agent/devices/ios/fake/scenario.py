"""What a fake iPhone does: one frozen dataclass, one field per scripted behaviour.

Add a scenario by adding a field here (default: the healthy behaviour) and reading it where it
acts; see the package docstring (``agent.devices.ios.fake``) for where each kind of behaviour
lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class FakeScenario:
    """What this fake iPhone does. Defaults: a healthy, ready device that runs fast."""

    # -- the device, as the session verbs see it (``session.py``) -------------------------------
    paired: bool = True
    locked: bool = False
    developer_mode: bool = True
    disk_image_mounted: bool = True
    disk_image_mountable: bool = True
    """``readiness`` mounts the image, as the real adapter's auto-mount does."""
    app_installed: bool = True
    app_version: str = "1.0"
    free_bytes: int = 32 * 1024**3
    battery_level: float = 0.8
    battery_state: Literal["unknown", "unplugged", "charging", "full"] = "unplugged"
    low_power_mode: bool = False
    thermal_state: str = "nominal"
    # -- the harness app during a run (``app.py``) -----------------------------------------------
    run_delay_s: float = 0.0
    """Run slowly: the app takes this long before writing results."""
    hang: bool = False
    crash: bool = False
    app_error: str | None = None
    """The app reports ``status: error`` with this message (``FAILED`` sentinel)."""
    disconnect_during_run: bool = False
    peak_bytes: int | None = None
    """Simulated peak footprint; default: baseline + 3 × the model's size."""
    jetsam_limit_bytes: int | None = None
    """Jetsam kills the app when its peak exceeds this."""
    engine_bug_op: str | None = None
    """Core ML gets this op wrong (named by the MIL tensor it produces) on
    ``engine_bug_unit``: its output is perturbed before later ops read it, whichever outputs the
    model exposes (``engine_bug.py``)."""
    engine_bug_unit: str = "gpu"
    footprint_from_program: bool = False
    """Peak footprint from the emulator's memory model of the pushed program (weights + peak
    activation), as a real run grows, instead of 3 × the model's size (``footprint.py``)."""
    # -- broken measurements, for ``pomar selftest``'s tests -----------------------------------
    output_layout_bug: bool = False
    """The app writes each output's elements in column-major order under its row-major shape."""
    footprint_scale: float = 1.0
    """Memory figures (the app's and the DVT samples) off by this factor: a unit mix-up."""
    jetsam_report_missing: bool = False
    """Jetsam kills the app but leaves no ``JetsamEvent`` report (so it looks like a crash)."""
    timings_bug: Literal["zero", "negative"] | None = None
    """The app reports zero prediction times, or a negative cold load (clocks subtracted the
    wrong way round)."""
