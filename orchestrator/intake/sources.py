"""Load PyTorch source models: TorchScript files, saved ``torch.export`` programs, factories.

Each loader returns a :class:`SourceModel`: something callable for the reference, the example
inputs that fix the converted model's shapes, and, for ``.pt2``, the exported program itself.
Every torch exception becomes a :class:`ModelError` that says what to fix.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.intake.locate import ModelSource
from orchestrator.intake.quiet import captured_stderr, first_line
from pomar_core.errors import ModelError, PomarError

if TYPE_CHECKING:
    import torch

_FACTORY_CONTRACT = (
    "it must return (torch.nn.Module, example_inputs) with example_inputs a tuple of tensors"
)


@dataclass(frozen=True)
class SourceModel:
    """A PyTorch model ready to convert and to run as the reference."""

    module: torch.nn.Module
    example_inputs: tuple[torch.Tensor, ...] | None
    """None when a TorchScript file does not record the shapes it was traced with."""
    exported: Any = None
    """The ``torch.export.ExportedProgram`` of a ``.pt2`` file."""
    input_names: tuple[str, ...] = ()
    """Argument names of ``forward``, used to name the Core ML inputs."""


def load_torchscript(source: ModelSource) -> SourceModel:
    """Load a TorchScript file; recover its traced input shapes when the file recorded them."""
    import torch

    assert source.path is not None
    try:
        with captured_stderr():
            # _restore_shapes puts the traced example shapes back on the graph inputs.
            module = torch.jit.load(  # type: ignore[no-untyped-call]
                str(source.path), map_location="cpu", _restore_shapes=True
            )
    except Exception as exc:  # torch raises RuntimeError with C++ text for any damage
        raise ModelError(
            f"{source.name} is not a loadable TorchScript file ({first_line(exc)})",
            hint="re-save it with torch.jit.save on this torch version",
        ) from exc
    module.eval()
    names: list[str] = []
    examples: list[torch.Tensor] = []
    for value in list(module.forward.graph.inputs())[1:]:  # the first input is `self`
        names.append(value.debugName().split(".")[0] or f"input_{len(names)}")
        kind = value.type()
        sizes = kind.sizes() if kind.kind() == "TensorType" else None
        if sizes is None or any(s is None for s in sizes):
            examples = []
            continue
        dtype = kind.dtype() or torch.float32
        examples.append(torch.zeros(tuple(int(s) for s in sizes), dtype=dtype))
    complete = len(examples) == len(names)
    return SourceModel(
        module=module,
        example_inputs=tuple(examples) if complete else None,
        input_names=_unique(names),
    )


def load_exported_program(source: ModelSource) -> SourceModel:
    """Load a ``torch.export.save`` archive (``.pt2``)."""
    import torch

    assert source.path is not None
    try:
        with captured_stderr():
            exported = torch.export.load(str(source.path))
            module = exported.module()
    except Exception as exc:
        raise ModelError(
            f"{source.name} is not a loadable torch.export program ({first_line(exc)})",
            hint="re-save it with torch.export.save on this torch version",
        ) from exc
    examples = exported.example_inputs
    args = tuple(examples[0]) if examples is not None else None
    names = tuple(
        spec.arg.name
        for spec in exported.graph_signature.input_specs
        if spec.kind == torch.export.graph_signature.InputKind.USER_INPUT
    )
    return SourceModel(module=module, example_inputs=args, exported=exported, input_names=names)


def load_factory(source: ModelSource) -> SourceModel:
    """Import a factory and call it; check it returned ``(module, example_inputs)``."""
    import torch

    factory = _import_factory(source)
    try:
        with captured_stderr():
            result = factory()
    except PomarError:
        raise
    except Exception as exc:
        raise ModelError(
            f"factory {source.name} raised {first_line(exc)}",
            hint="fix the factory so it runs on its own; " + _FACTORY_CONTRACT,
        ) from exc
    if not (isinstance(result, tuple | list) and len(result) == 2):
        raise ModelError(
            f"factory {source.name} returned {_describe(result)}",
            hint="fix it: " + _FACTORY_CONTRACT,
        )
    module, examples = result
    if not isinstance(module, torch.nn.Module):
        raise ModelError(
            f"factory {source.name} returned {_describe(module)} where a torch.nn.Module belongs",
            hint="fix it: " + _FACTORY_CONTRACT,
        )
    if isinstance(examples, torch.Tensor):
        examples = (examples,)
    if not (
        isinstance(examples, tuple | list)
        and examples
        and all(isinstance(t, torch.Tensor) for t in examples)
    ):
        raise ModelError(
            f"factory {source.name} returned {_describe(examples)} as example inputs",
            hint="fix it: " + _FACTORY_CONTRACT,
        )
    module.eval()
    return SourceModel(
        module=module,
        example_inputs=tuple(examples),
        input_names=_forward_argument_names(module, len(examples)),
    )


def _import_factory(source: ModelSource) -> Any:
    assert source.function is not None
    try:
        with captured_stderr():
            if source.path is not None:
                module = _import_file(source.path)
            else:
                assert source.module is not None
                module = importlib.import_module(source.module)
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"cannot import {source.module or source.path} for factory {source.name} ({exc})",
            hint="install the package or run from the directory that contains it",
        ) from exc
    except Exception as exc:
        raise ModelError(
            f"importing {source.path or source.module} failed: {first_line(exc)}",
            hint="fix the error in that file, then try again",
        ) from exc
    factory = getattr(module, source.function, None)
    if not callable(factory):
        raise ModelError(
            f"{source.path or source.module} has no function {source.function}",
            hint="check the name after the colon",
        )
    return factory


def _import_file(path: Path) -> Any:
    # A unique module name per import: two factory files both called model.py must not clash.
    name = f"pomar_factory_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"{path} cannot be imported as Python", hint="give a .py file")
    module = importlib.util.module_from_spec(spec)
    # The factory's own directory comes first so it can import its sibling modules.
    sys.path.insert(0, str(path.resolve().parent))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def _forward_argument_names(module: torch.nn.Module, count: int) -> tuple[str, ...]:
    import inspect

    try:
        parameters = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if len(names) < count:
        return tuple(f"input_{i}" for i in range(count))
    return _unique(names[:count])


def _unique(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for i, name in enumerate(names):
        candidate = name if name and name not in seen else f"input_{i}"
        seen.add(candidate)
        out.append(candidate)
    return tuple(out)


def _describe(value: object) -> str:
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"
