"""``pomar selftest``: a fixed battery that proves each measurement of a device before a team
trusts it.

- ``battery.py``: the four models, built in code with the MIL builder (no downloads);
- ``checks.py``: how each run is judged, pass/fail/skip with the measured value and the band;
- ``run.py``: runs the battery on one :class:`agent.device.Device`;
- ``bundle.py``: everything in one archive for a bug report (``--bundle``);
- ``devices.py``: which device an id names (emulator, host Mac, fake iPhone, attached iPhone).
"""

from agent.selftest.checks import CheckResult, CheckStatus
from agent.selftest.run import SelftestReport, run_selftest

__all__ = ["CheckResult", "CheckStatus", "SelftestReport", "run_selftest"]
