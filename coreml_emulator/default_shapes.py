"""A flexible-shape program type-checked at its inputs' default shapes, as Core ML does on load.

Core ML compiles a flexible model for its default shapes when it loads it, and refuses a program
whose ops do not type-check there — ``stack`` of a ranged input whose default size differs from
its partners' (coremltools' ``TestStack::test_stack_dynamic_range_dim`` expects that error even
for inputs that would fit). The emulator, which runs each call at the given shapes, would accept
it. So the program is re-typed with coremltools' own
``materialize_symbolic_shape_program`` pass at the default shapes; a ``ValueError`` from its type
inference becomes a ``ModelError``. Anything else the pass cannot do is not held against the
model: only a known type error refuses it.
"""

from __future__ import annotations

from typing import Any

from coreml_emulator.loading import load_model
from pomar_core.errors import ModelError

_FUNCTION = "pomar_default_shapes"


def check_default_shapes(model: Any) -> None:
    """Raise ``ModelError`` if ``model``'s program does not type-check at its default shapes."""
    from coremltools.converters.mil.mil.passes.pass_registry import PASS_REGISTRY

    loaded = load_model(model)  # a fresh program: the pass adds a function to it
    materialize = type(PASS_REGISTRY["common::materialize_symbolic_shape_program"])()
    materialize.function_name_to_materialization_map = {
        _FUNCTION: {f.name: tuple(f.shape) for f in loaded.inputs if f.flexible}
    }
    try:
        materialize(loaded.program)
    except ValueError as exc:
        raise ModelError(
            f"the ML program does not type-check at its inputs' default shapes: {exc}",
            hint="Core ML refuses to load such a model; give each flexible input a default "
            "shape the program accepts",
        ) from exc
    except Exception:
        return
