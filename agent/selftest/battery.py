"""The self-test models, built in code with coremltools' MIL builder (nothing is downloaded).

Each is small on disk and says what a correct device must report for it:

- :func:`exact_model`: integer arithmetic that is exact in FP16, and a transpose, so every
  output element and its position are known exactly (output path and tensor layout);
- :func:`memory_model`: one matmul against a weight of a known size (memory sampling);
- :func:`oversized_model`: a tile whose result is larger than the device's app limit, from a
  kilobyte-sized file (jetsam classification);
- :func:`op_chain_model`: a chain of a known number of linear + relu ops (latency sanity and
  the compute plan).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pomar_core.arrays import Arrays
from pomar_core.model_archive import write_package_zip
from pomar_core.wire import ModelRef
from pomar_core.wire.base import DType
from pomar_core.wire.model import ModelFormat, SourceKind, TensorSpec

EXACT_SHAPE = (1, 2, 3, 5)
"""Deliberately asymmetric, so a layout that swaps or reverses axes shows."""
TRANSPOSE_PERM = (3, 2, 0, 1)
MEMORY_WEIGHT_SHAPE = (2048, 4096)
"""16 MiB of FP16 weights: well above the app's baseline noise, cheap to push."""
OVERSIZED_WIDTH = 1024
CHAIN_LAYERS = 16
CHAIN_WIDTH = 256
CHAIN_OP_TYPES = ("linear", "relu")


@dataclass(frozen=True)
class SelftestModel:
    """A built model, the inputs to run it with, and what is known about it."""

    name: str
    path: Path
    ref: ModelRef
    inputs: Arrays
    expected: Arrays | None = None
    """Exact expected outputs, when they are known."""
    weight_bytes: int = 0
    activation_bytes: int = 0
    op_count: int = 0
    """Ops of the compute kinds in :data:`CHAIN_OP_TYPES` (the op-chain model)."""


def exact_model(folder: Path) -> SelftestModel:
    from coremltools.converters.mil import Builder as mb

    # A per-element offset, so a misplaced element shows, and so the package has a weights
    # file (a weightless package has an empty folder some file transfers drop).
    offsets = (np.arange(np.prod(EXACT_SHAPE)) % 7).astype(np.float32).reshape(EXACT_SHAPE)

    def program(x: Any) -> Any:
        doubled = mb.add(x=mb.mul(x=x, y=2.0), y=offsets, name="doubled")
        transposed = mb.transpose(x=x, perm=list(TRANSPOSE_PERM), name="transposed")
        return doubled, transposed

    x = np.arange(np.prod(EXACT_SHAPE), dtype=np.float32).reshape(EXACT_SHAPE)
    expected = {"doubled": x * 2 + offsets, "transposed": x.transpose(TRANSPOSE_PERM)}
    return _model("exact", folder, _mil(EXACT_SHAPE, program), {"x": x}, expected=expected)


def memory_model(folder: Path) -> SelftestModel:
    from coremltools.converters.mil import Builder as mb

    rows, cols = MEMORY_WEIGHT_SHAPE
    weight = np.random.default_rng(0).standard_normal((rows, cols)).astype(np.float16) * 0.01

    def program(x: Any) -> Any:
        return mb.matmul(x=mb.cast(x=x, dtype="fp16"), y=weight, name="projected")

    x = np.ones((1, rows), dtype=np.float32)
    return _model("memory", folder, _mil((1, rows), program), {"x": x}, weight_bytes=weight.nbytes)


def oversized_model(folder: Path, activation_bytes: int) -> SelftestModel:
    """A model whose one intermediate tensor takes ``activation_bytes`` (FP16)."""
    from coremltools.converters.mil import Builder as mb

    rows = max(1, activation_bytes // (2 * OVERSIZED_WIDTH))
    scale = np.linspace(0.5, 1.5, OVERSIZED_WIDTH, dtype=np.float16).reshape(1, -1)

    def program(x: Any) -> Any:
        scaled = mb.mul(x=mb.cast(x=x, dtype="fp16"), y=scale)
        tiled = mb.tile(x=scaled, reps=[rows, 1], name="tiled")
        total = mb.reduce_sum(x=tiled, axes=[0, 1], keep_dims=True)
        return mb.cast(x=total, dtype="fp32", name="total")

    x = np.ones((1, OVERSIZED_WIDTH), dtype=np.float32)
    return _model(
        "oversized",
        folder,
        _mil((1, OVERSIZED_WIDTH), program),
        {"x": x},
        activation_bytes=rows * OVERSIZED_WIDTH * 2,
    )


def op_chain_model(folder: Path) -> SelftestModel:
    from coremltools.converters.mil import Builder as mb

    rng = np.random.default_rng(1)
    weights = [
        (rng.standard_normal((CHAIN_WIDTH, CHAIN_WIDTH)) * 0.05).astype(np.float32)
        for _ in range(CHAIN_LAYERS)
    ]

    def program(x: Any) -> Any:
        for i, w in enumerate(weights):
            x = mb.relu(x=mb.linear(x=x, weight=w, name=f"linear_{i}"), name=f"relu_{i}")
        return mb.identity(x=x, name="y")

    x = np.full((1, CHAIN_WIDTH), 0.5, dtype=np.float32)
    chain = _mil((1, CHAIN_WIDTH), program)
    return _model("op_chain", folder, chain, {"x": x}, op_count=2 * CHAIN_LAYERS)


def _mil(shape: tuple[int, ...], body: Callable[[Any], Any]) -> Any:
    """A MIL program of one fp32 input ``x`` of ``shape`` whose ops ``body`` adds."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    spec = mb.TensorSpec(shape=shape)
    return mb.program(input_specs=[spec], opset_version=ct.target.iOS16)(body)


def _model(name: str, folder: Path, program: Any, inputs: Arrays, **known: Any) -> SelftestModel:
    import coremltools as ct

    model = ct.convert(
        program,
        convert_to="mlprogram",
        minimum_deployment_target=ct.target.iOS16,
        compute_precision=ct.precision.FLOAT16,
    )
    path = folder / f"{name}.mlpackage"
    model.save(str(path))
    outputs = [
        TensorSpec(name=o.name, dtype=DType.FLOAT32, shape=tuple(o.type.multiArrayType.shape))
        for o in model.get_spec().description.output
    ]
    ref = ModelRef(
        sha256=_package_sha256(path),
        format=ModelFormat.MLPACKAGE,
        name=f"selftest-{name}",
        source_kind=SourceKind.MLPACKAGE,
        specification_version=model.get_spec().specificationVersion,
        model_type="mlProgram",
        inputs=tuple(
            TensorSpec(name=k, dtype=DType.FLOAT32, shape=v.shape) for k, v in inputs.items()
        ),
        outputs=tuple(outputs),
    )
    return SelftestModel(name=name, path=path, ref=ref, inputs=inputs, **known)


def _package_sha256(package: Path) -> str:
    with tempfile.TemporaryDirectory(prefix="pomar-selftest-") as tmp:
        archive = Path(tmp) / "model.zip"
        write_package_zip(package, archive)
        digest = hashlib.sha256()
        with archive.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()
