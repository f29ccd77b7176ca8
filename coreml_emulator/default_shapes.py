"""A flexible-shape program checked at its inputs' default shapes, as Core ML does on load.

Core ML compiles a flexible model for its default shapes when it loads it, trusting the static
shapes the program declares. A program whose op declares a static output shape that its inputs
contradict at the default shapes — ``stack`` of a ranged input whose default size differs from
its partners' (coremltools' ``TestStack::test_stack_dynamic_range_dim`` expects that error even
for inputs that would fit) — is refused there, while the emulator, which runs each call at the
given shapes, would accept it.

So the program is re-typed with coremltools' own ``materialize_symbolic_shape_program`` pass at
the default shapes. A type error refuses the model only when the op that raised it declares a
fully static output from an input of symbolic shape (the case Core ML's load-time compile
cannot reconcile); a type error in an op whose output stays symbolic is left to run time, as
Core ML leaves it (``TestTensorAssign::test_tensor_assign_dynamic_slice`` passes on Core ML
although its ``slice_update`` does not type-check at the defaults). Anything else the pass cannot
do is not held against the model.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from coreml_emulator.loading import load_model
from pomar_core.errors import ModelError

_FUNCTION = "pomar_default_shapes"


def check_default_shapes(model: Any) -> None:
    """Raise ``ModelError`` if ``model``'s program contradicts its static shapes at its
    inputs' default shapes."""
    from coremltools.converters.mil.mil.passes.pass_registry import PASS_REGISTRY

    loaded = load_model(model)  # a fresh program: the pass adds a function to it
    declared = {op.name: op for op in loaded.function.operations}
    materialize = type(PASS_REGISTRY["common::materialize_symbolic_shape_program"])()
    materialize.function_name_to_materialization_map = {
        _FUNCTION: {f.name: tuple(f.shape) for f in loaded.inputs if f.flexible}
    }
    try:
        materialize(loaded.program)
    except ValueError as exc:
        name = _failing_op_name(exc.__traceback__)
        op = declared.get(name) if name is not None else None
        if op is None or not _static_from_symbolic(op):
            return
        raise ModelError(
            f"the ML program does not type-check at its inputs' default shapes: op '{name}' "
            f"({op.op_type}) declares a static output its inputs contradict: {exc}",
            hint="Core ML refuses to load such a model; give each flexible input a default "
            "shape the program accepts",
        ) from exc
    except Exception:
        return


def _failing_op_name(tb: TracebackType | None) -> str | None:
    """The name of the MIL op whose ``type_inference`` raised (innermost), if any."""
    name = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "type_inference":
            owner = frame.f_locals.get("self")
            name = getattr(owner, "name", name)
        tb = tb.tb_next
    return name


def _static_from_symbolic(op: Any) -> bool:
    from coremltools.converters.mil.mil.types.symbolic import any_symbolic

    outputs_static = all(v.shape is not None and not any_symbolic(v.shape) for v in op.outputs)
    inputs = [v for v in op.inputs.values() if hasattr(v, "shape")]
    for value in op.inputs.values():
        if isinstance(value, list | tuple):
            inputs += [v for v in value if hasattr(v, "shape")]
    return outputs_static and any(any_symbolic(v.shape) for v in inputs)
