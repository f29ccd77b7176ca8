"""What did the user hand us? Tell model kinds apart by content, not by extension.

A ``MODEL`` argument is one of: an ``.mlpackage`` directory, an ``.mlmodel`` file, a
TorchScript file, a saved ``torch.export`` program (``.pt2``), or a factory
``path/to/file.py:function`` / ``package.module:function``. Extensions lie (``model.pt`` may be
TorchScript, an export program or a plain ``torch.save``), so files are recognised by their
bytes: TorchScript and ``.pt2`` are zips with tell-tale members, and an ``.mlmodel`` is a
protobuf that is checked later when its spec is parsed. No torch or coremltools import here.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pomar_core.errors import ModelError
from pomar_core.wire import SourceKind

_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FACTORY_HINT = "give a factory as path/to/file.py:function or package.module:function"


@dataclass(frozen=True)
class ModelSource:
    """A located model: its kind and where it is.

    For factories ``path`` is the ``.py`` file (None for ``package.module``), ``module`` the
    dotted module name (None for a file) and ``function`` the factory's name.
    """

    kind: SourceKind
    name: str
    """What the user typed: the display name of the model."""
    path: Path | None = None
    module: str | None = None
    function: str | None = None


def locate(spec: str | Path) -> ModelSource:
    """Resolve a ``MODEL`` argument into a :class:`ModelSource`, or raise :class:`ModelError`."""
    name = str(spec)
    path = Path(spec)
    if path.exists():
        return _locate_path(path, name)
    if isinstance(spec, str) and ":" in spec:
        return _locate_factory(spec)
    raise ModelError(
        f"{name} does not exist",
        hint="check the path, or " + _FACTORY_HINT,
    )


def _locate_path(path: Path, name: str) -> ModelSource:
    if path.is_dir():
        if (path / "Manifest.json").is_file():
            return ModelSource(SourceKind.MLPACKAGE, name, path=path)
        raise ModelError(
            f"{name} is a directory but not an .mlpackage (it has no Manifest.json)",
            hint="point at the .mlpackage directory itself, or at a model file",
        )
    if not path.is_file():
        raise ModelError(f"{name} is not a regular file", hint="point at a model file")
    if path.suffix == ".py":
        raise ModelError(
            f"{name} is a Python file but names no factory function",
            hint=f"append the function, e.g. {name}:build",
        )
    if path.stat().st_size == 0:
        raise ModelError(f"{name} is empty", hint="re-export or re-download the model")
    if zipfile.is_zipfile(path):
        return ModelSource(_zip_kind(path, name), name, path=path)
    with path.open("rb") as f:
        if f.read(4) == b"PK\x03\x04":
            # A zip (TorchScript, .pt2) whose central directory is gone: cut short in transit.
            raise ModelError(
                f"{name} is a truncated or damaged archive", hint="re-export or re-download it"
            )
    # Not a zip and not a directory: the only file format left is an .mlmodel protobuf.
    # Whether it really is one is decided when its spec is parsed.
    return ModelSource(SourceKind.MLMODEL, name, path=path)


def _zip_kind(path: Path, name: str) -> SourceKind:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelError(
            f"{name} is a damaged archive ({exc})", hint="re-export or re-download the model"
        ) from exc
    leaves = {member.split("/", 1)[-1] for member in members}
    if "archive_format" in leaves or any(m.startswith("models/") for m in leaves):
        return SourceKind.TORCH_EXPORT
    if "constants.pkl" in leaves and any(m.startswith("code/") for m in leaves):
        return SourceKind.TORCHSCRIPT
    if "data.pkl" in leaves:
        raise ModelError(
            f"{name} is a torch.save() checkpoint (weights or a pickled module), not a "
            "self-contained model",
            hint="save it with torch.jit.save(torch.jit.trace(...)) or torch.export.save(), "
            "or give a factory file.py:function that builds the module",
        )
    if any(m.startswith("Data/") or m == "Manifest.json" for m in members):
        raise ModelError(
            f"{name} is a zipped .mlpackage", hint="unzip it and point at the .mlpackage directory"
        )
    raise ModelError(
        f"{name} is a zip archive but not a TorchScript or torch.export model",
        hint="give an .mlpackage, .mlmodel, TorchScript file, .pt2 program or a factory",
    )


def _locate_factory(spec: str) -> ModelSource:
    target, _, function = spec.rpartition(":")
    if not _IDENTIFIER.match(function):
        raise ModelError(f"{spec}: {function!r} is not a function name", hint=_FACTORY_HINT)
    if target.endswith(".py") or "/" in target or "\\" in target:
        file = Path(target)
        if not file.is_file():
            raise ModelError(f"{target} does not exist", hint="check the path of the factory file")
        return ModelSource(SourceKind.FACTORY, spec, path=file, function=function)
    if _MODULE_NAME.match(target):
        return ModelSource(SourceKind.FACTORY, spec, module=target, function=function)
    raise ModelError(f"{spec} is neither a path nor a factory", hint=_FACTORY_HINT)
