"""Does the source model convert? Each applicable front end, at each requested target.

``pomar check`` converts with one front end (trace first, torch.export as a fallback); preflight
tries both so the user learns which one works, and on failure lists every torch op coremltools
lacks with its module path. Conversions go to a scratch directory, never to the artifact store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from orchestrator.intake import ConversionOptions, FrontEnd, ModelSource
from orchestrator.intake.convert import convert
from orchestrator.intake.quiet import captured_stderr
from orchestrator.intake.sources import (
    SourceModel,
    load_exported_program,
    load_factory,
    load_torchscript,
)
from orchestrator.preflight import torch_ops
from orchestrator.preflight.report import (
    ConversionAttempt,
    Finding,
    Severity,
    UnsupportedTorchOp,
)
from pomar_core.errors import ConversionError, ModelError, PomarError
from pomar_core.wire import Precision, SourceKind

_COREMLTOOLS_OPS = "https://apple.github.io/coremltools/docs-guides/source/custom-operators.html"
_HELP = (
    "rewrite those calls with ops coremltools supports, register a composite op with "
    "coremltools' @register_torch_op, or try the other front end (torch.export's "
    "decompositions often lower an op the trace front end lacks) or a newer deployment target"
)


@dataclass(frozen=True)
class Convertibility:
    """What the conversions showed, and the packages the rest of preflight analyses."""

    attempts: tuple[ConversionAttempt, ...]
    findings: tuple[Finding, ...]
    primary: Path | None
    """The model at the requested precision and target (None: it does not convert)."""
    primary_front_end: FrontEnd | None
    source: SourceModel | None


def load_source(source: ModelSource) -> SourceModel:
    """The PyTorch model behind a located torch source (``ModelError`` if it will not load)."""
    if source.kind is SourceKind.TORCHSCRIPT:
        return load_torchscript(source)
    if source.kind is SourceKind.TORCH_EXPORT:
        return load_exported_program(source)
    if source.kind is SourceKind.FACTORY:
        return load_factory(source)
    raise ModelError(f"{source.name} is not a source model")  # pragma: no cover


def check_convertibility(
    source: ModelSource,
    loaded: SourceModel,
    options: ConversionOptions,
    targets: tuple[str, ...],
    scratch: Path,
) -> Convertibility:
    """Convert ``loaded`` with every applicable front end at every target in ``targets``.

    The first target is the run's; the others are only tried and reported.
    """
    front_ends = _front_ends(loaded, options.front_end)
    attempts: list[ConversionAttempt] = []
    primary: Path | None = None
    primary_front_end: FrontEnd | None = None
    unsupported: dict[FrontEnd, tuple[UnsupportedTorchOp, ...]] = {}
    for target in targets:
        for front_end in front_ends:
            destination = scratch / f"{front_end.value}-{target}.mlpackage"
            attempt_options = options.model_copy(
                update={"front_end": front_end, "deployment_target": target}
            )
            try:
                shims = convert(loaded, attempt_options, destination, name=source.name)
            except ConversionError as exc:
                if front_end not in unsupported:
                    unsupported[front_end] = _scan(loaded, front_end)
                attempts.append(
                    ConversionAttempt(
                        front_end=front_end.value,
                        deployment_target=target,
                        converted=False,
                        error=exc.one_line(),
                        unsupported_ops=unsupported[front_end],
                    )
                )
                continue
            attempts.append(
                ConversionAttempt(
                    front_end=front_end.value,
                    deployment_target=target,
                    converted=True,
                    shims=shims,
                )
            )
            if target == targets[0] and primary is None:
                primary, primary_front_end = destination, front_end
    return Convertibility(
        attempts=tuple(attempts),
        findings=tuple(_findings(source.name, attempts, targets[0])),
        primary=primary,
        primary_front_end=primary_front_end,
        source=loaded,
    )


def convert_fp32(
    source: ModelSource,
    loaded: SourceModel,
    options: ConversionOptions,
    front_end: FrontEnd,
    scratch: Path,
) -> Path:
    """The same conversion in fp32: the program whose trace shows the true value ranges."""
    destination = scratch / "fp32-reference.mlpackage"
    convert(
        loaded,
        options.model_copy(update={"precision": Precision.FP32, "front_end": front_end}),
        destination,
        name=source.name,
    )
    return destination


def _front_ends(loaded: SourceModel, preferred: FrontEnd) -> tuple[FrontEnd, ...]:
    import torch

    if loaded.exported is not None:
        return (FrontEnd.TORCH_EXPORT,)
    if isinstance(loaded.module, torch.jit.ScriptModule):
        return (FrontEnd.TORCHSCRIPT,)
    if preferred is FrontEnd.TORCH_EXPORT:
        return (FrontEnd.TORCH_EXPORT, FrontEnd.TORCHSCRIPT)
    return (FrontEnd.TORCHSCRIPT, FrontEnd.TORCH_EXPORT)


def _scan(loaded: SourceModel, front_end: FrontEnd) -> tuple[UnsupportedTorchOp, ...]:
    """Unsupported ops as ``front_end`` sees them; empty when the graph cannot be captured."""
    try:
        with captured_stderr():
            if front_end is FrontEnd.TORCH_EXPORT:
                exported = loaded.exported
                if exported is None:
                    exported = torch_ops.export_program(loaded.module, loaded.example_inputs or ())
                return torch_ops.unsupported_in_export(exported)
            return torch_ops.unsupported_in_trace(loaded.module, loaded.example_inputs or ())
    except PomarError:
        raise
    except Exception:
        # Capture failed the same way the conversion did; the attempt's error says why.
        return ()


def _findings(name: str, attempts: list[ConversionAttempt], run_target: str) -> list[Finding]:
    findings: list[Finding] = []
    at_run = [a for a in attempts if a.deployment_target == run_target]
    failed = [a for a in at_run if not a.converted]
    if at_run and not any(a.converted for a in at_run):
        findings.append(
            Finding(
                id="convert.failed",
                severity=Severity.ERROR,
                message=f"{name} does not convert for {run_target} with "
                f"{' or '.join(a.front_end for a in at_run)}: {_why(failed[0])}",
                source=_COREMLTOOLS_OPS,
                op=_first_path(failed[0]),
                hint=_HELP,
            )
        )
    elif failed:
        worked = next(a for a in at_run if a.converted)
        for attempt in failed:
            findings.append(
                Finding(
                    id="convert.front-end",
                    severity=Severity.INFO,
                    message=f"{attempt.front_end} does not convert {name} ({_why(attempt)}); "
                    f"{worked.front_end} does, and is the one analysed",
                    op=_first_path(attempt),
                )
            )
    for target in dict.fromkeys(
        a.deployment_target for a in attempts if a.deployment_target != run_target
    ):
        tried = [a for a in attempts if a.deployment_target == target]
        if not any(a.converted for a in tried):
            findings.append(
                Finding(
                    id="convert.target",
                    severity=Severity.WARNING,
                    message=f"{name} does not convert for {target}: {_why(tried[0])}",
                    op=_first_path(tried[0]),
                    hint=_HELP,
                )
            )
    return findings


def _why(attempt: ConversionAttempt) -> str:
    if attempt.unsupported_ops:
        listed = ", ".join(
            f"{u.op} (in {', '.join(p or '<top>' for p in u.module_paths[:3])})"
            for u in attempt.unsupported_ops
        )
        return f"unsupported torch ops {listed}"
    return attempt.error or "conversion failed"


def _first_path(attempt: ConversionAttempt) -> str | None:
    for op in attempt.unsupported_ops:
        if op.module_paths:
            return op.module_paths[0] or "<top>"
    return None
