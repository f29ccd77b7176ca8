"""Model intake: whatever the user gave → a stored, inspected Core ML model.

Order matters for "nothing half-written": load, convert and inspect in a scratch directory
first; only a model that passed all of that is put in the artifact store (atomically), and the
source model is stored after it. A failure at any step leaves the store as it was.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.intake.convert import ConversionOptions, convert
from orchestrator.intake.inspect import ModelInterface, inspect_model
from orchestrator.intake.locate import ModelSource, locate
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import ModelError
from pomar_core.model_archive import store_model, unpack_model
from pomar_core.wire import ModelRef, SourceKind

if TYPE_CHECKING:
    import torch

    from orchestrator.intake.sources import SourceModel


@dataclass(frozen=True)
class IntakeResult:
    """A model ready to run: its wire reference, a local copy, and its source when there is one."""

    model: ModelRef
    path: Path
    """The local ``.mlpackage``/``.mlmodel``, unpacked from the store (what devices will get)."""
    module: torch.nn.Module | None = None
    """The PyTorch module the model was converted from (the reference runs it), if any."""
    example_inputs: tuple[torch.Tensor, ...] | None = None
    shims: tuple[str, ...] = ()
    """Converter shims the conversion used (also on ``model.converter_shims``)."""

    @property
    def has_source(self) -> bool:
        return self.module is not None


def intake_model(
    spec: str | Path,
    store: ArtifactStore,
    cache_dir: Path,
    options: ConversionOptions | None = None,
) -> IntakeResult:
    """Accept a model argument, convert it if it is a source model, store and inspect it.

    ``spec`` is a path (``.mlpackage``, ``.mlmodel``, TorchScript, ``.pt2``) or a factory
    ``file.py:function`` / ``package.module:function``. ``cache_dir`` receives the unpacked
    model (one directory per sha256). Raises a :class:`ModelError` (or its
    :class:`ConversionError`) with a one-line message and a hint.
    """
    options = options or ConversionOptions()
    source = locate(spec)
    if source.kind in (SourceKind.MLPACKAGE, SourceKind.MLMODEL):
        assert source.path is not None
        interface = inspect_model(source.path, source.name)
        return _store(store, cache_dir, source, source.path, interface, None)
    loaded = _load_source(source)
    with tempfile.TemporaryDirectory(prefix="pomar-convert-") as scratch:
        package = Path(scratch) / "model.mlpackage"
        shims = convert(loaded, options, package, name=source.name)
        interface = inspect_model(package, source.name)
        interface = _with_known_conversion(interface, options)
        return _store(store, cache_dir, source, package, interface, loaded, shims)


def _load_source(source: ModelSource) -> SourceModel:
    from orchestrator.intake import sources

    if source.kind is SourceKind.TORCHSCRIPT:
        return sources.load_torchscript(source)
    if source.kind is SourceKind.TORCH_EXPORT:
        return sources.load_exported_program(source)
    if source.kind is SourceKind.FACTORY:
        return sources.load_factory(source)
    raise ModelError(f"{source.name}: unexpected model kind {source.kind}")  # pragma: no cover


def _with_known_conversion(interface: ModelInterface, options: ConversionOptions) -> ModelInterface:
    """What we asked the converter for beats what we infer from the spec."""
    from dataclasses import replace

    return replace(
        interface, precision=options.precision, deployment_target=options.deployment_target
    )


def _store(
    store: ArtifactStore,
    cache_dir: Path,
    source: ModelSource,
    model_path: Path,
    interface: ModelInterface,
    loaded: SourceModel | None,
    shims: tuple[str, ...] = (),
) -> IntakeResult:
    sha256, fmt = store_model(store, model_path)
    source_sha256 = _store_source(store, source) if loaded is not None else None
    ref = ModelRef(
        sha256=sha256,
        format=fmt,
        name=source.name,
        source_kind=source.kind,
        source_sha256=source_sha256,
        precision=interface.precision,
        deployment_target=interface.deployment_target,
        specification_version=interface.specification_version,
        model_type=interface.model_type,
        inputs=interface.inputs,
        outputs=interface.outputs,
        ops=interface.ops,
        converter_shims=shims,
    )
    local = unpack_model(store, ref, cache_dir)
    return IntakeResult(
        model=ref,
        path=local,
        module=loaded.module if loaded is not None else None,
        example_inputs=loaded.example_inputs if loaded is not None else None,
        shims=shims,
    )


def _store_source(store: ArtifactStore, source: ModelSource) -> str | None:
    """Keep the source next to the model: the file itself, or the factory's Python file."""
    if source.path is not None and source.path.is_file():
        return store.put_file(source.path)
    if source.module is not None:
        import importlib.util

        found = importlib.util.find_spec(source.module)
        origin = found.origin if found is not None else None
        if origin and Path(origin).is_file():
            return store.put_file(Path(origin))
    return None
