"""Will one prediction fit in the memory iOS lets an app use?

The estimate is the emulator's memory model at the run's precision: every constant (weights
decoded to their compute dtype) plus the peak of live activations under the program's op order.
It leaves out what no Linux tool can see — the Core ML runtime, the app itself, Neural Engine
compilation buffers — which is why anything above :data:`TIGHT_SHARE` of the limit is "tight"
rather than "fits". A flexible-shape model is estimated at the largest shape it accepts (the
program is materialised at that shape with coremltools), since that is the input that decides
whether the app survives.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

from orchestrator.intake.quiet import captured_stderr, coremltools, first_line
from orchestrator.preflight.report import (
    DeviceMemory,
    Finding,
    MemoryEstimate,
    MemoryVerdict,
    Severity,
)
from pomar_core.catalog import IPhoneModel, all_iphones, lookup_iphone
from pomar_core.errors import ModelError, SelectorError
from pomar_core.wire import TensorSpec

TIGHT_SHARE = 0.8
"""Above this share of the per-app limit the runtime's own overhead can tip it over."""

_JETSAM = "https://github.com/apple/ml-fastvlm/issues/24"
_FLEXIBLE = "https://github.com/apple/coremltools/issues/1988"


def select_devices(product_types: Sequence[str] | None) -> tuple[IPhoneModel, ...]:
    """The catalog entries for ``product_types`` (all known iPhones when None)."""
    if product_types is None:
        return all_iphones()
    selected = []
    for product_type in product_types:
        model = lookup_iphone(product_type)
        if model is None:
            known = ", ".join(m.product_type for m in all_iphones()[-4:])
            raise SelectorError(
                f"unknown iPhone product type '{product_type}'",
                hint=f"use a product type such as {known} (see `pomar devices`)",
            )
        selected.append(model)
    return tuple(selected)


def largest_shapes(inputs: Sequence[TensorSpec]) -> tuple[dict[str, tuple[int, ...]], list[str]]:
    """The largest shape each flexible input allows, and the inputs with no upper bound."""
    shapes: dict[str, tuple[int, ...]] = {}
    unbounded: list[str] = []
    for spec in inputs:
        if spec.enumerated_shapes:
            shapes[spec.name] = max(spec.enumerated_shapes, key=math.prod)
        elif spec.shape_range is not None:
            if any(high < 0 for _, high in spec.shape_range):
                unbounded.append(spec.name)
                shapes[spec.name] = spec.shape
            else:
                shapes[spec.name] = tuple(high for _, high in spec.shape_range)
        else:
            shapes[spec.name] = spec.shape
    return shapes, unbounded


def estimate_memory(
    path: Path,
    inputs: Sequence[TensorSpec],
    precision: str,
    devices: Sequence[IPhoneModel],
) -> tuple[MemoryEstimate, list[Finding]]:
    """Estimate one prediction of the ML program at ``path`` against each of ``devices``."""
    from coreml_emulator import load_program

    findings: list[Finding] = []
    flexible = [spec.name for spec in inputs if spec.flexible]
    shapes, unbounded = largest_shapes(inputs)
    program = load_program(path)
    model = program.memory_model(precision)
    if model.peak_activation_bytes is None:
        with tempfile.TemporaryDirectory(prefix="pomar-preflight-shape-") as scratch:
            fixed = materialize(path, shapes, Path(scratch) / "largest.mlpackage")
            model = load_program(fixed).memory_model(precision)
    if model.peak_activation_bytes is None:  # pragma: no cover - materialised shapes are fixed
        raise ModelError(f"{path.name}: the memory model has symbolic shapes after materialising")
    total = model.weight_bytes + model.peak_activation_bytes
    rows = tuple(_against(device, total) for device in devices)
    estimate = MemoryEstimate(
        precision=precision,
        input_shapes=tuple(shapes.items()),
        weight_bytes=model.weight_bytes,
        peak_activation_bytes=model.peak_activation_bytes,
        peak_op=model.peak_op,
        devices=rows,
    )
    if flexible:
        at = ", ".join(f"{n} {list(shapes[n])}" for n in flexible)
        findings.append(
            Finding(
                id="memory.flexible-shape",
                severity=Severity.WARNING,
                message=f"flexible input shapes: memory estimated at the largest shape ({at}); "
                "flexible-shape models have used many times the memory of a fixed-shape one",
                source=_FLEXIBLE,
                hint="convert one fixed-shape model (or EnumeratedShapes) per size you ship",
            )
        )
    if unbounded:
        findings.append(
            Finding(
                id="memory.unbounded-shape",
                severity=Severity.WARNING,
                message=f"input(s) {', '.join(unbounded)} have no upper bound; memory is "
                "estimated at the default shape only",
                hint="give every RangeDim an upper_bound",
            )
        )
    findings.extend(_verdict_findings(estimate, total))
    return estimate, findings


def materialize(path: Path, shapes: dict[str, tuple[int, ...]], destination: Path) -> Path:
    """A copy of the model at ``path`` with ``shapes`` fixed, saved at ``destination``."""
    ct = coremltools()
    try:
        with captured_stderr():
            mlmodel = ct.models.MLModel(str(path), skip_model_load=True)
            ct.models.utils.materialize_dynamic_shape_mlmodel(
                mlmodel, {"main": shapes}, str(destination)
            )
    except Exception as exc:
        raise ModelError(
            f"cannot fix {path.name}'s flexible shapes at {shapes}: {first_line(exc)}",
            hint="preflight a fixed-shape conversion of the model at its largest size",
        ) from exc
    return destination


def human_bytes(count: float) -> str:
    """``1.5 GB`` style, in binary units, as memory is reported on device."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"  # pragma: no cover


def _against(device: IPhoneModel, total: int) -> DeviceMemory:
    share = total / device.app_memory_limit_bytes
    if share > 1:
        verdict = MemoryVerdict.KILLED
    elif share > TIGHT_SHARE:
        verdict = MemoryVerdict.TIGHT
    else:
        verdict = MemoryVerdict.FITS
    return DeviceMemory(
        product_type=device.product_type,
        marketing_name=device.marketing_name,
        ram_bytes=device.ram_bytes,
        limit_bytes=device.app_memory_limit_bytes,
        share=share,
        verdict=verdict,
    )


def _verdict_findings(estimate: MemoryEstimate, total: int) -> list[Finding]:
    needs = (
        f"needs about {human_bytes(total)} (weights {human_bytes(estimate.weight_bytes)} + "
        f"peak activations {human_bytes(estimate.peak_activation_bytes)})"
    )
    findings = []
    for verdict, severity, what in (
        (MemoryVerdict.KILLED, Severity.ERROR, "will be killed on"),
        (MemoryVerdict.TIGHT, Severity.WARNING, "is tight on"),
    ):
        rows = [d for d in estimate.devices if d.verdict is verdict]
        if not rows:
            continue
        names = ", ".join(dict.fromkeys(d.marketing_name for d in rows))
        lowest = min(d.limit_bytes for d in rows)
        findings.append(
            Finding(
                id=f"memory.{'killed' if verdict is MemoryVerdict.KILLED else 'tight'}",
                severity=severity,
                message=f"one prediction {needs}: it {what} {names} "
                f"(per-app limit from {human_bytes(lowest)})",
                source=_JETSAM,
                op=estimate.peak_op,
                hint="shrink the input or the largest intermediate, split the model, compress "
                "weights, or add the increased-memory-limit entitlement",
            )
        )
    return findings
