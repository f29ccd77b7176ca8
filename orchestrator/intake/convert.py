"""Convert a PyTorch source model to a Core ML ML program with coremltools.

Front ends: ``torchscript`` traces the module with ``torch.jit.trace``; ``torch_export`` runs
``torch.export.export(...).run_decompositions({})`` (coremltools 9.0 accepts only the ATEN
dialect). ``auto`` tries the trace first and falls back to torch.export: in coremltools 9.0
the TorchScript front end is the mature, widely tested one and lets us name outputs, while the
torch.export importer needed fixes for torch releases after 2.7 (which we run); but export's
decompositions sometimes turn an op the trace front end lacks into ops it has, so it is worth
a second try. A ``.pt2`` program only goes through torch.export; a TorchScript file only
through the TorchScript front end.

Every coremltools/torch exception becomes a :class:`ConversionError`, naming the op when the
converter says which one it lacks.
"""

from __future__ import annotations

import re
import traceback
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.intake.quiet import captured_stderr, coremltools, first_line
from pomar_core.errors import ConversionError, PomarError
from pomar_core.wire import Precision

if TYPE_CHECKING:
    from orchestrator.intake.sources import SourceModel

_MISSING_OP = re.compile(
    # TorchScript front end, then torch.export front end.
    r"convert function for op '([^']+)' not implemented|Unsupported fx node \S+, kind (\S+)"
)
_UNSUPPORTED_OP_HINT = (
    "rewrite that op with supported ones (or register a composite op with "
    "coremltools' @register_torch_op), or try --front-end {other}"
)


class FrontEnd(StrEnum):
    """How a ``torch.nn.Module`` is captured for coremltools."""

    AUTO = "auto"
    TORCHSCRIPT = "torchscript"
    TORCH_EXPORT = "torch_export"


class ConversionOptions(BaseModel):
    """How to convert a source model. The defaults match what ships on most iPhones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    precision: Precision = Precision.FP16
    """Compute precision of the ML program (coremltools' default is fp16)."""
    deployment_target: str = Field(default="iOS16", pattern=r"^(iOS|macOS|watchOS|tvOS)\d+$")
    """Minimum deployment target; iOS15 or later, since Pomar converts to ML programs."""
    input_names: tuple[str, ...] | None = None
    """Core ML input names, in ``forward`` argument order (default: the argument names)."""
    output_names: tuple[str, ...] | None = None
    """Core ML output names, in order of the flattened outputs (default: output, output_1…)."""
    input_shapes: tuple[tuple[int, ...], ...] | None = None
    """Input shapes for a TorchScript file that does not record the shapes it was traced with."""
    front_end: FrontEnd = FrontEnd.AUTO
    shims: bool = True
    """Retry a failed conversion with Pomar's converter shims (:mod:`orchestrator.intake.shims`)."""


def convert(
    source: SourceModel, options: ConversionOptions, destination: Path, *, name: str
) -> tuple[str, ...]:
    """Convert ``source`` and save the ML program as an ``.mlpackage`` at ``destination``.

    Returns the converter shims the conversion used: none when the plain conversion works;
    when it fails and ``options.shims`` is on, it is retried with the shims applied.
    """
    ct = coremltools()
    target = getattr(ct.target, options.deployment_target, None)
    if target is None or target.value < ct.target.iOS15.value:
        raise ConversionError(
            f"deployment target {options.deployment_target} is not one coremltools 9.0 can "
            "build an ML program for",
            hint="use iOS15 or later (e.g. iOS16, iOS17, iOS18)",
        )
    mlmodel, used = _convert_with_shims(ct, source, options, target, name)
    try:
        with captured_stderr():
            _rename(ct, mlmodel, source, options, name)
            mlmodel.save(str(destination))
    except PomarError:
        raise
    except Exception as exc:
        raise ConversionError(
            f"saving the converted {name} failed: {first_line(exc)}",
            hint="check free disk space, then report it with the model attached",
        ) from exc
    return used


def _convert_with_shims(
    ct: Any, source: SourceModel, options: ConversionOptions, target: Any, name: str
) -> tuple[Any, tuple[str, ...]]:
    from orchestrator.intake import shims

    try:
        return _convert_with_front_ends(ct, source, options, target, name), ()
    except ConversionError as exc:
        if not options.shims:
            raise
        plain_failure = exc
    try:
        with shims.applied() as use:
            mlmodel = _convert_with_front_ends(ct, source, options, target, name)
    except ConversionError:
        # The plain conversion's error is the one that names what coremltools lacks.
        raise plain_failure from None
    return mlmodel, use.names()


def _convert_with_front_ends(
    ct: Any, source: SourceModel, options: ConversionOptions, target: Any, name: str
) -> Any:
    if source.exported is not None:
        return _guarded(
            lambda: _via_export(ct, source, options, target), name, FrontEnd.TORCH_EXPORT
        )
    if options.front_end is FrontEnd.TORCH_EXPORT:
        if isinstance(source.module, _script_module_type()):
            raise ConversionError(
                f"{name} is TorchScript, which torch.export cannot capture",
                hint="use --front-end torchscript, or give the Python module as a factory",
            )
        return _guarded(
            lambda: _via_export(ct, source, options, target), name, FrontEnd.TORCH_EXPORT
        )
    try:
        return _guarded(lambda: _via_trace(ct, source, options, target), name, FrontEnd.TORCHSCRIPT)
    except ConversionError as first_failure:
        scripted = isinstance(source.module, _script_module_type())
        if options.front_end is FrontEnd.TORCHSCRIPT or scripted:
            raise
        try:
            return _guarded(
                lambda: _via_export(ct, source, options, target), name, FrontEnd.TORCH_EXPORT
            )
        except ConversionError:
            # The trace error is the one users recognise and the one that names the op.
            raise first_failure from None


def _guarded(run: Any, name: str, front_end: FrontEnd) -> Any:
    with captured_stderr():
        try:
            return run()
        except PomarError:
            raise
        except Exception as exc:
            error = _conversion_error(exc, name, front_end)
            # The failed frames hold coremltools' temporary weights directory; release it
            # here, inside the quiet context, rather than whenever the traceback is collected.
            traceback.clear_frames(exc.__traceback__)
            raise error from exc


def _conversion_error(exc: BaseException, name: str, front_end: FrontEnd) -> ConversionError:
    other = FrontEnd.TORCH_EXPORT if front_end is FrontEnd.TORCHSCRIPT else FrontEnd.TORCHSCRIPT
    match = _MISSING_OP.search(str(exc))
    if match:
        op = match.group(1) or match.group(2)
        return ConversionError(
            f"coremltools cannot convert op '{op}' in {name} (front end {front_end.value})",
            hint=_UNSUPPORTED_OP_HINT.format(other=other.value),
        )
    return ConversionError(
        f"converting {name} with {front_end.value} failed: {first_line(exc)}",
        hint=f"try --front-end {other.value}, or simplify the model around the failing layer",
    )


def _via_trace(ct: Any, source: SourceModel, options: ConversionOptions, target: Any) -> Any:
    import torch

    examples = _example_inputs(source, options)
    names = _input_names(source, options, len(examples))
    if isinstance(source.module, _script_module_type()):
        captured = source.module
    else:
        with torch.no_grad():
            captured = torch.jit.trace(source.module, examples)  # type: ignore[no-untyped-call]
    inputs = [
        ct.TensorType(name=n, shape=tuple(t.shape), dtype=_numpy_dtype(t))
        for n, t in zip(names, examples, strict=True)
    ]
    return ct.convert(
        captured,
        inputs=inputs,
        convert_to="mlprogram",
        compute_precision=_precision(ct, options),
        minimum_deployment_target=target,
    )


def _via_export(ct: Any, source: SourceModel, options: ConversionOptions, target: Any) -> Any:
    import torch

    if source.exported is not None:
        exported = source.exported
    else:
        examples = _example_inputs(source, options)
        with torch.no_grad():
            exported = torch.export.export(source.module, examples)
    exported = exported.run_decompositions({})
    return ct.convert(
        exported,
        convert_to="mlprogram",
        compute_precision=_precision(ct, options),
        minimum_deployment_target=target,
    )


def _rename(
    ct: Any, mlmodel: Any, source: SourceModel, options: ConversionOptions, name: str
) -> None:
    """Give inputs and outputs the names asked for, or readable defaults; drop the date."""
    spec = mlmodel._spec  # changed in place: MLModel.save writes this spec
    # The conversion date would make each day's conversion of the same model a new artifact.
    spec.description.metadata.userDefined.pop("com.github.apple.coremltools.conversion_date", None)
    current_inputs = [f.name for f in spec.description.input]
    current_outputs = [f.name for f in spec.description.output]
    wanted_inputs = list(options.input_names or source.input_names or current_inputs)
    if options.output_names is not None:
        wanted_outputs = list(options.output_names)
    elif len(current_outputs) == 1:
        wanted_outputs = ["output"]
    else:
        wanted_outputs = [f"output_{i}" for i in range(len(current_outputs))]
    for role, current, wanted in (
        ("input", current_inputs, wanted_inputs),
        ("output", current_outputs, wanted_outputs),
    ):
        if len(wanted) != len(current):
            raise ConversionError(
                f"{name} has {len(current)} {role}s but {len(wanted)} {role} names were given",
                hint=f"pass exactly {len(current)} {role} names, in order",
            )
        # Two passes through temporary names, so swapping names cannot collide midway.
        for i, old in enumerate(current):
            if old != wanted[i]:
                ct.utils.rename_feature(spec, old, f"__pomar_{role}_{i}")
        for i, old in enumerate(current):
            if old != wanted[i]:
                ct.utils.rename_feature(spec, f"__pomar_{role}_{i}", wanted[i])


def _example_inputs(source: SourceModel, options: ConversionOptions) -> tuple[Any, ...]:
    import torch

    if options.input_shapes is not None:
        dtypes = [t.dtype for t in source.example_inputs or ()]
        return tuple(
            torch.zeros(shape, dtype=dtypes[i] if i < len(dtypes) else torch.float32)
            for i, shape in enumerate(options.input_shapes)
        )
    if source.example_inputs is None:
        raise ConversionError(
            "the TorchScript file does not record the input shapes it was traced with",
            hint="give the shapes with --input-shapes 1x3x224x224,…, or save with torch.jit.trace",
        )
    return source.example_inputs


def _input_names(source: SourceModel, options: ConversionOptions, count: int) -> list[str]:
    names = list(options.input_names or source.input_names)
    if len(names) != count:
        if options.input_names is not None:
            raise ConversionError(
                f"the model takes {count} inputs but {len(names)} input names were given",
                hint=f"pass exactly {count} input names, in forward() order",
            )
        names = [f"input_{i}" for i in range(count)]
    return names


def _numpy_dtype(tensor: Any) -> Any:
    import numpy as np
    import torch

    # Core ML multi-arrays have no int64/bool; the converter wants int32 for integer inputs.
    if tensor.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        return np.int32
    if tensor.dtype is torch.bool:
        return np.bool_
    # Floats keep coremltools' default for the target (fp16 I/O at iOS16+ with fp16 compute):
    # Pomar reads the resulting dtypes from the spec rather than imposing its own.
    return None


def _precision(ct: Any, options: ConversionOptions) -> Any:
    return ct.precision.FLOAT16 if options.precision is Precision.FP16 else ct.precision.FLOAT32


def _script_module_type() -> type:
    import torch

    return torch.jit.ScriptModule
