"""One Core ML model as one content-addressed artifact, and back.

An ``.mlpackage`` is a directory, but the artifact store holds blobs, so a package is packed
into a zip whose bytes depend on its content only: entries sorted by path, fixed timestamps
and permissions, no compression (zlib output can differ between builds, and weights barely
compress). ``Manifest.json`` names its items by random UUIDs, different on every save, so it
is rewritten with UUIDs derived from each item's path. Equal packages therefore get equal
sha256 on every machine. An ``.mlmodel`` is stored as its own bytes.

The agent calls :func:`unpack_model` to materialise a model once per sha256 in a local cache.
This module must stay light: no torch, no coremltools.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path, PurePosixPath

from pomar_core.artifacts import ArtifactStore, sha256_file
from pomar_core.errors import ModelError, StoreError
from pomar_core.wire import ModelFormat, ModelRef

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644 << 16
MODEL_BASENAME = "model"
"""Cached models are ``<cache>/<sha256>/model.mlpackage`` or ``model.mlmodel``."""


def model_format(path: Path) -> ModelFormat:
    """The container format of a Core ML model on disk: a package directory or a file."""
    return ModelFormat.MLPACKAGE if path.is_dir() else ModelFormat.MLMODEL


def write_package_zip(package: Path, destination: Path) -> None:
    """Write ``package`` (an ``.mlpackage`` directory) as a deterministic zip at ``destination``.

    Paths inside the zip are relative to the package root. Symlinks are refused: a package that
    points outside itself would not mean the same thing on another machine.
    """
    files: list[tuple[str, Path]] = []
    for root, dirs, names in os.walk(package):
        dirs.sort()
        for name in names + [d for d in dirs if (Path(root) / d).is_symlink()]:
            path = Path(root) / name
            if path.is_symlink():
                raise ModelError(
                    f"{package} contains a symbolic link ({path.relative_to(package)})",
                    hint="copy the package with the link resolved (cp -RL) and try again",
                )
            files.append((path.relative_to(package).as_posix(), path))
        if not names and not dirs and Path(root) != package:
            # An empty folder can be an item of the package (the weights folder of a model
            # without weights): Core ML refuses the package if it is missing.
            files.append((Path(root).relative_to(package).as_posix() + "/", Path(root)))
    files.sort()
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_STORED) as archive:
        for arcname, path in files:
            info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
            info.external_attr = _FILE_MODE
            if arcname.endswith("/"):
                archive.writestr(info, b"")
                continue
            info.create_system = 3  # unix, whatever the host: keeps the header bytes stable
            if arcname == "Manifest.json":
                archive.writestr(info, canonical_manifest(path.read_bytes()))
                continue
            with path.open("rb") as src, archive.open(info, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)


def canonical_manifest(data: bytes) -> bytes:
    """``Manifest.json`` with item identifiers derived from item paths, keys sorted.

    Core ML only uses the identifiers to find the root model, so renaming them consistently
    keeps the package's meaning. A manifest that does not look as expected is kept verbatim.
    """
    try:
        manifest = json.loads(data)
        entries = manifest["itemInfoEntries"]
        renamed = {
            old: str(uuid.uuid5(uuid.NAMESPACE_URL, f"pomar:{entry['path']}")).upper()
            for old, entry in entries.items()
        }
        manifest["itemInfoEntries"] = {renamed[old]: entry for old, entry in entries.items()}
        manifest["rootModelIdentifier"] = renamed[manifest["rootModelIdentifier"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return data
    return (json.dumps(manifest, indent=4, sort_keys=True) + "\n").encode()


def store_model(store: ArtifactStore, path: Path) -> tuple[str, ModelFormat]:
    """Store a Core ML model (``.mlpackage`` directory or ``.mlmodel`` file) and return its
    address and format. Storing the same content twice gives the same address."""
    fmt = model_format(path)
    if fmt is ModelFormat.MLMODEL:
        return store.put_file(path), fmt
    with tempfile.TemporaryDirectory(prefix="pomar-pack-") as tmp:
        archive = Path(tmp) / "model.zip"
        write_package_zip(path, archive)
        return store.put_file(archive), fmt


def cached_model_path(ref: ModelRef, cache_dir: Path) -> Path:
    """Where :func:`unpack_model` puts ``ref`` under ``cache_dir``."""
    return cache_dir / ref.sha256 / f"{MODEL_BASENAME}.{ref.format.value}"


def unpack_model(store: ArtifactStore, ref: ModelRef, cache_dir: Path) -> Path:
    """The local ``.mlpackage``/``.mlmodel`` of ``ref``, fetched and unpacked once per sha256.

    Unpacking goes into a temporary directory beside the cache entry and is renamed into
    place, so a crash or a concurrent caller never sees a half-written model.
    """
    target = cached_model_path(ref, cache_dir)
    if target.exists():
        return target
    blob = store.local_path(ref.sha256)
    if sha256_file(blob) != ref.sha256:
        raise StoreError(
            f"artifact {ref.sha256[:12]} does not hash to its address",
            hint="the artifact store is corrupt: delete that artifact and submit the model again",
        )
    entry = target.parent
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".unpack-"))
    except OSError as exc:
        raise StoreError(
            f"cannot create the model cache {cache_dir}: {exc.strerror or exc}",
            hint="check free disk space and permissions of POMAR_DATA_DIR",
        ) from exc
    try:
        staged = staging / target.name
        if ref.format is ModelFormat.MLMODEL:
            shutil.copyfile(blob, staged)
        else:
            _extract_package(blob, staged)
        try:
            os.rename(staging, entry)
        except OSError:
            # Another process unpacked the same sha256 first; its copy is as good as ours.
            if not target.exists():
                raise
    except OSError as exc:
        raise StoreError(
            f"cannot unpack model {ref.sha256[:12]} into {cache_dir}: {exc.strerror or exc}",
            hint="check free disk space and permissions of POMAR_DATA_DIR",
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _extract_package(archive_path: Path, destination: Path) -> None:
    try:
        with zipfile.ZipFile(archive_path) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if name.is_absolute() or ".." in name.parts:
                    raise StoreError(
                        f"model archive entry {info.filename!r} escapes the package",
                        hint="the artifact was not written by Pomar; submit the model again",
                    )
                out = destination.joinpath(*name.parts)
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    except zipfile.BadZipFile as exc:
        raise StoreError(
            f"model artifact {archive_path.name[:12]} is not a valid package archive: {exc}",
            hint="the artifact store is corrupt: submit the model again",
        ) from exc
