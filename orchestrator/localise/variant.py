"""A probe variant: the same ML program with chosen intermediate tensors added as outputs.

Built at the MIL level with coremltools: the stored package's program is parsed back
(``milproto.load``), its ``main`` function's outputs extended with ``set_outputs``, and the
program serialised again with the empty pass pipeline and no precision pass, so no op is
folded, fused, re-cast or renamed by the converter: the device compiles the same program with
more outputs. Before iOS16 a model output cannot be fp16, so there an fp16 tensor is exposed
through a ``cast`` to fp32 named ``<tensor>`` + :data:`FP32_SUFFIX`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orchestrator.intake.inspect import inspect_model
from orchestrator.intake.quiet import captured_stderr, coremltools, first_line
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import ModelError
from pomar_core.model_archive import store_model
from pomar_core.wire import ModelRef

FP32_SUFFIX = "__pomar_fp32"
_IOS16_SPEC = 7


def store_variant(
    model: ModelRef, model_path: Path, expose: Sequence[str], store: ArtifactStore, label: str
) -> ModelRef:
    """Build the variant exposing ``expose``, store it, and return its reference."""
    with tempfile.TemporaryDirectory(prefix="pomar-probe-") as scratch:
        package = Path(scratch) / "probe.mlpackage"
        build_variant(model_path, expose, package)
        interface = inspect_model(package, model.name)
        sha256, fmt = store_model(store, package)
    return model.model_copy(
        update={
            "sha256": sha256,
            "format": fmt,
            "name": f"{model.name} ({label})",
            "outputs": interface.outputs,
        }
    )


def read_program(model_path: Path) -> tuple[Any, Any]:
    """The spec and the MIL program of the stored ML program at ``model_path``."""
    ct = coremltools()
    from coremltools.converters.mil.frontend.milproto.load import load as load_milproto

    try:
        with captured_stderr():
            mlmodel = ct.models.MLModel(str(model_path), skip_model_load=True)
            spec = mlmodel.get_spec()
            program = load_milproto(spec, spec.specificationVersion, mlmodel.weights_dir or "")
    except Exception as exc:  # coremltools raises bare Exceptions for what it cannot read
        raise ModelError(
            f"cannot read the ML program to probe: {first_line(exc)}",
            hint="localisation needs an ML program (.mlpackage)",
        ) from exc
    if "main" not in program.functions:
        raise ModelError("the ML program has no 'main' function to probe")
    return spec, program


def build_variant(model_path: Path, expose: Sequence[str], destination: Path) -> None:
    """Write to ``destination`` the program of ``model_path`` with ``expose`` as outputs."""
    ct = coremltools()
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types

    spec, program = read_program(model_path)
    main = program.functions["main"]
    found = {var.name: var for op in main.operations for var in op.outputs}
    missing = [name for name in expose if name not in found]
    if missing:
        raise ModelError(f"the program has no tensor {missing[0]!r} to expose")
    outputs = list(main.outputs)
    present = {var.name for var in outputs}
    with main:
        for name in expose:
            if name in present:
                continue
            var: Any = found[name]
            if spec.specificationVersion < _IOS16_SPEC and var.dtype == types.fp16:
                var = mb.cast(x=var, dtype="fp32", name=name + FP32_SUFFIX)
            outputs.append(var)
    main.set_outputs(outputs)
    target = _target_of(ct, spec.specificationVersion)
    try:
        with captured_stderr():
            variant = ct.convert(
                program,
                convert_to="mlprogram",
                minimum_deployment_target=target,
                compute_precision=ct.precision.FLOAT32,
                pass_pipeline=ct.PassPipeline.EMPTY,
            )
            variant.save(str(destination))
    except Exception as exc:
        raise ModelError(
            f"cannot build the probe variant: {first_line(exc)}",
            hint="report this model: the localiser could not re-serialise its program",
        ) from exc


def _target_of(ct: Any, specification_version: int) -> Any:
    """The deployment target of a spec version (iOS15 = 6, iOS16 = 7, …)."""
    by_version = {int(t.value): t for t in ct.target}
    return by_version.get(specification_version, ct.target.iOS15)
