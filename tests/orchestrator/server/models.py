"""The tiny Core ML model of the integration tests as an ``.mlpackage`` on disk, and packed as
the client uploads it."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifacts import sha256_bytes
from pomar_core.model_archive import unpack_model, write_package_zip
from tests.integration.models import tiny_job


def tiny_package(directory: Path) -> Path:
    """A real ``.mlpackage`` (converted once per test process)."""
    store = LocalArtifactStore(directory / "src-artifacts")
    job = tiny_job(store)
    return unpack_model(store, job.model, directory / "src-cache")


def packed(package: Path, directory: Path) -> bytes:
    archive = directory / "packed.zip"
    write_package_zip(package, archive)
    return archive.read_bytes()


def evil_archive(entry: str, *, symlink: bool = False, deflate: bool = False) -> bytes:
    """A package zip with a Manifest.json and one hostile entry."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as z:
        z.writestr("Manifest.json", "{}")
        info = zipfile.ZipInfo(entry)
        if symlink:
            info.external_attr = 0o120777 << 16
        z.writestr(info, "/etc/passwd" if symlink else "x")
    return buf.getvalue()


def npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def sha(data: bytes) -> str:
    return sha256_bytes(data)
