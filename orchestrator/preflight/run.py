"""``run_preflight``: every preflight stage on one model, as one library call.

Stages: locate → convert (each front end, each target) → inventory → memory estimate against
the selected iPhones → known-pitfall rules → FP16 range trace on the input set. A stage that
cannot run says so in an info finding; bad input (a missing model, an unknown product type, an
input file that does not fit) raises a :class:`~pomar_core.errors.UsageError`.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from orchestrator.inputs import generate_inputs, load_inputs
from orchestrator.intake import ConversionOptions, locate
from orchestrator.intake.inspect import load_spec
from orchestrator.preflight.convertibility import check_convertibility, convert_fp32, load_source
from orchestrator.preflight.inventory import take_inventory, weight_file_bytes
from orchestrator.preflight.memory import estimate_memory, select_devices
from orchestrator.preflight.pitfalls import PITFALLS
from orchestrator.preflight.ranges import trace_ranges
from orchestrator.preflight.report import (
    ConversionAttempt,
    Finding,
    Inventory,
    MemoryEstimate,
    PreflightReport,
    RangeRisk,
    Severity,
)
from orchestrator.preflight.rules import RuleContext, load_operations, run_rules
from pomar_core.errors import ConversionError, ModelError, PomarError
from pomar_core.wire import ModelFormat, ModelRef, Precision, SourceKind

Progress = Callable[[str], None]

DEFAULT_MAX_TRACE_BYTES = 2 * 1024**3
"""The FP16 range trace runs the model on this host; above this it is skipped, not attempted."""


@dataclass(frozen=True)
class PreflightRequest:
    """What to preflight, and against what."""

    model: str | Path
    """Anything ``pomar check`` accepts: a Core ML model, a torch file, or a factory."""
    conversion: ConversionOptions = field(default_factory=ConversionOptions)
    """The run's conversion: its precision and deployment target are the ones judged."""
    extra_targets: tuple[str, ...] = ()
    """Other deployment targets to try converting for (reported, never blocking)."""
    devices: tuple[str, ...] | None = None
    """iPhone product types to judge memory against; None: every iPhone in the catalog."""
    inputs_path: Path | None = None
    seed: int = 0
    max_trace_bytes: int = DEFAULT_MAX_TRACE_BYTES


@dataclass(frozen=True)
class PreflightOutcome:
    """The report, and whether a job with this model must be refused (and why, in one line)."""

    report: PreflightReport

    @property
    def refused(self) -> bool:
        return bool(self.report.blocking)

    @property
    def reason(self) -> str | None:
        return self.report.refusal_reason


def run_preflight(
    request: PreflightRequest, progress: Progress = lambda _: None
) -> PreflightOutcome:
    """Run every preflight stage on ``request.model``; no device, no artifact store."""
    devices = select_devices(request.devices)  # an unknown product type is bad input: first
    precision = request.conversion.precision
    name = str(request.model)
    source = locate(request.model)
    findings: list[Finding] = []
    conversions: tuple[ConversionAttempt, ...] = ()
    with tempfile.TemporaryDirectory(prefix="pomar-preflight-") as scratch_dir:
        scratch = Path(scratch_dir)
        if source.kind in (SourceKind.MLPACKAGE, SourceKind.MLMODEL):
            assert source.path is not None
            primary: Path | None = source.path
            fp32_path: Path | None = None
        else:
            progress("loading the source model")
            loaded = load_source(source)
            progress("converting with each front end")
            targets = (request.conversion.deployment_target, *request.extra_targets)
            result = check_convertibility(source, loaded, request.conversion, targets, scratch)
            conversions, primary = result.attempts, result.primary
            findings.extend(result.findings)
            fp32_path = None
            if primary is not None and precision is Precision.FP16:
                assert result.primary_front_end is not None
                try:
                    fp32_path = convert_fp32(
                        source, loaded, request.conversion, result.primary_front_end, scratch
                    )
                except ConversionError as exc:
                    findings.append(_skipped("fp16.range-skipped", "FP16 range check", exc))
        stages = _Stages(name, precision, findings)
        if primary is not None:
            progress("taking the inventory")
            stages.analyse(primary, fp32_path, devices, request, progress)
        report = PreflightReport(
            model=name,
            precision=precision,
            versions=_versions(),
            conversions=conversions,
            inventory=stages.inventory,
            memory=stages.memory,
            ranges=stages.ranges,
            findings=tuple(sorted(findings, key=_severity_order)),
        )
    return PreflightOutcome(report)


class _Stages:
    """The analyses of a converted (or given) Core ML model, filling in the report's parts."""

    def __init__(self, name: str, precision: Precision, findings: list[Finding]) -> None:
        self.name = name
        self.precision = precision
        self.findings = findings
        self.inventory: Inventory | None = None
        self.memory: MemoryEstimate | None = None
        self.ranges: tuple[RangeRisk, ...] = ()

    def analyse(
        self,
        primary: Path,
        fp32_path: Path | None,
        devices: Any,
        request: PreflightRequest,
        progress: Progress,
    ) -> None:
        inventory = take_inventory(primary, self.name)
        self.inventory = inventory
        if inventory.model_type != "mlProgram":
            self.findings.append(
                Finding(
                    id="preflight.not-ml-program",
                    severity=Severity.INFO,
                    message=f"{self.name} is a {inventory.model_type} model: memory, pitfall "
                    "and FP16 range checks need an ML program",
                    hint="convert with convert_to='mlprogram' (iOS15 or later)",
                )
            )
            return
        progress("estimating memory")
        try:
            self.memory, found = estimate_memory(
                primary, inventory.inputs, self.precision.value, devices
            )
            self.findings.extend(found)
        except ModelError as exc:  # the emulator cannot take it: image features, unknown ops…
            self.findings.append(_skipped("memory.skipped", "memory estimate", exc))
        progress("checking known pitfalls")
        self.findings.extend(self._pitfalls(primary, inventory))
        progress("tracing value ranges")
        trace_path = fp32_path or primary
        try:
            arrays = self._inputs(primary, inventory, request)
            self.ranges, found = trace_ranges(
                trace_path,
                arrays,
                max_bytes=request.max_trace_bytes,
                severity=Severity.WARNING if self.precision is Precision.FP16 else Severity.INFO,
            )
            self.findings.extend(found)
        except ModelError as exc:
            self.findings.append(_skipped("fp16.range-skipped", "FP16 range check", exc))
        except RuntimeError as exc:
            # An emulator kernel disagreeing with the program is an emulator bug; the rest of
            # the report still stands, so say so instead of losing it.
            self.findings.append(_skipped("fp16.range-skipped", "FP16 range check", exc))

    def _pitfalls(self, primary: Path, inventory: Inventory) -> list[Finding]:
        context = RuleContext(
            operations=load_operations(primary, self.name),
            inputs=inventory.inputs,
            outputs=inventory.outputs,
            precision=self.precision,
            inventory=inventory,
            weight_file_bytes=weight_file_bytes(primary),
        )
        return run_rules(PITFALLS, context)

    def _inputs(
        self, primary: Path, inventory: Inventory, request: PreflightRequest
    ) -> dict[str, npt.NDArray[np.generic]]:
        spec = load_spec(primary, self.name)
        ref = ModelRef(
            sha256=hashlib.sha256(spec.SerializeToString()).hexdigest(),
            format=ModelFormat.MLPACKAGE if primary.is_dir() else ModelFormat.MLMODEL,
            name=self.name,
            source_kind=SourceKind.MLPACKAGE,
            specification_version=inventory.specification_version,
            model_type=inventory.model_type,
            inputs=inventory.inputs,
            outputs=inventory.outputs,
        )
        if request.inputs_path is not None:
            arrays, _warnings = load_inputs(request.inputs_path, ref)
            return arrays
        return generate_inputs(ref, request.seed)


def _skipped(finding_id: str, stage: str, exc: Exception) -> Finding:
    text = exc.one_line() if isinstance(exc, PomarError) else f"emulator error: {exc}"
    return Finding(id=finding_id, severity=Severity.INFO, message=f"{stage} skipped: {text}")


def _versions() -> tuple[tuple[str, str], ...]:
    import torch

    from orchestrator.intake.quiet import coremltools

    return (
        ("coremltools", str(coremltools().__version__)),
        ("torch", str(torch.__version__)),
        ("numpy", str(np.__version__)),
    )


def _severity_order(finding: Finding) -> int:
    return {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}[finding.severity]
