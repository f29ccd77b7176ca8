"""Which torch ops coremltools has no converter for, and where in the module tree they are.

The converter stops at the first op it lacks; a user fixing a model wants all of them at once,
with the module path to edit. So the graph is captured the way each front end captures it and
every call is looked up in coremltools' torch op registry (the same lookup the converter
makes), without converting anything.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from orchestrator.preflight.report import UnsupportedTorchOp

# Graph bookkeeping the TorchScript converter handles itself, not through the registry.
_TRACE_BUILTINS = ("prim::", "aten::_assert", "aten::_set_item")


def unsupported_in_trace(module: Any, examples: tuple[Any, ...]) -> tuple[UnsupportedTorchOp, ...]:
    """Unsupported ops of ``module`` as ``torch.jit.trace`` records them."""
    import torch

    scripted = isinstance(module, torch.jit.ScriptModule)
    if scripted:
        graph = module.inlined_graph
    else:
        with torch.no_grad():
            traced = torch.jit.trace(module, examples)  # type: ignore[no-untyped-call]
        graph = traced.inlined_graph
    found: dict[str, list[str]] = defaultdict(list)
    for node in graph.nodes():
        kind = str(node.kind())
        if kind.startswith(_TRACE_BUILTINS) or _supported(kind):
            continue
        where = _trace_module_path(str(node.scopeName()))
        if not where and scripted:
            # A loaded TorchScript file keeps no module scopes, but it keeps the Python line.
            where = str(node.sourceRange()).strip().split("\n", 1)[0]
        found[_lookup_name(kind)].append(where)
    return _collect(found)


def unsupported_in_export(exported: Any) -> tuple[UnsupportedTorchOp, ...]:
    """Unsupported ops of a ``torch.export`` program after ``run_decompositions({})``."""
    program = exported.run_decompositions({})
    found: dict[str, list[str]] = defaultdict(list)
    for node in program.graph.nodes:
        if node.op != "call_function":
            continue
        target = node.target
        kind = (
            target.name() if hasattr(target, "name") else getattr(target, "__name__", str(target))
        )
        if _supported(str(kind)):
            continue
        found[_lookup_name(str(kind))].append(_export_module_path(node.meta.get("nn_module_stack")))
    return _collect(found)


def export_program(module: Any, examples: tuple[Any, ...]) -> Any:
    """``torch.export.export`` of ``module`` (raises what torch raises)."""
    import torch

    with torch.no_grad():
        return torch.export.export(module, examples)


def _supported(kind: str) -> bool:
    from coremltools.converters.mil.frontend.torch.torch_op_registry import _TORCH_OPS_REGISTRY

    return _TORCH_OPS_REGISTRY.get_func(kind) is not None


def _lookup_name(kind: str) -> str:
    from coremltools.converters.mil.frontend.torch.utils import (
        sanitize_op_kind,
        unify_inplace_and_functional,
    )

    return str(unify_inplace_and_functional(sanitize_op_kind(kind)))


def _trace_module_path(scope: str) -> str:
    # "__module.block/__module.block.1" → "block.1": the innermost module of the call.
    last = scope.rsplit("/", 1)[-1]
    return last.removeprefix("__module").removeprefix(".")


def _export_module_path(stack: Any) -> str:
    if not stack:
        return ""
    path, _type = list(stack.values())[-1]
    return str(path)


def _collect(found: dict[str, list[str]]) -> tuple[UnsupportedTorchOp, ...]:
    return tuple(
        UnsupportedTorchOp(op=op, count=len(paths), module_paths=tuple(dict.fromkeys(paths)))
        for op, paths in sorted(found.items())
    )
