"""Preflight: know before the first device run whether a model will convert, fit, and survive
FP16 — in seconds, on Linux, with no device.

::

    from orchestrator.preflight import PreflightRequest, run_preflight

    outcome = run_preflight(PreflightRequest(model="examples/cnn.py:build"))
    outcome.report      # PreflightReport: conversions, inventory, memory, ranges, findings
    outcome.refused     # True when the device run will fail (unconvertible, will be killed…)
    outcome.reason      # that, in one line

``render.py`` draws the report in a terminal and as an HTML section; ``pitfalls.py`` holds the
rule catalogue.
"""

from orchestrator.preflight.render import html_section, render_terminal
from orchestrator.preflight.report import (
    ConversionAttempt,
    DeviceMemory,
    Finding,
    Inventory,
    MemoryEstimate,
    MemoryVerdict,
    PreflightReport,
    RangeRisk,
    Severity,
)
from orchestrator.preflight.run import PreflightOutcome, PreflightRequest, run_preflight

__all__ = [
    "ConversionAttempt",
    "DeviceMemory",
    "Finding",
    "Inventory",
    "MemoryEstimate",
    "MemoryVerdict",
    "PreflightOutcome",
    "PreflightReport",
    "PreflightRequest",
    "RangeRisk",
    "Severity",
    "html_section",
    "render_terminal",
    "run_preflight",
]
