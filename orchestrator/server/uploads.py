"""Uploaded bytes: received within a size limit, checked against the sha256 they claim, and
checked for what they are meant to be before a job may use them.

A model package arrives as Pomar's zip of the ``.mlpackage`` directory; an entry that is
absolute, climbs out with ``..``, or is a symbolic link is refused (unpacking it anywhere
would write outside the package), and so is a compressed one (Pomar stores entries as they
are, so the unpacked size is the uploaded size: no zip bombs). An input set is an ``.npz``
read with pickles disabled.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

from orchestrator.inputs import read_npz
from orchestrator.server.errors import DigestMismatch, UploadTooLarge
from pomar_core.errors import InputsError, ModelError


async def receive(chunks: AsyncIterator[bytes], declared: str, limit: int, directory: Path) -> Path:
    """Write the body to a temporary file in ``directory`` (the artifact store's disk, so
    storing it is a rename), counting bytes against ``limit`` and hashing as it goes."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=".upload-")
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(
                        f"upload exceeds the server's limit of {limit} bytes",
                        hint="raise POMAR_UPLOAD_LIMIT_MB on the server, or send a smaller file",
                    )
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != declared:
            raise DigestMismatch(
                f"the uploaded bytes hash to {digest.hexdigest()}, not {declared}",
                hint="the file changed or was cut short in transit: upload it again",
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def check_package_archive(path: Path) -> None:
    """A model package zip that unpacks inside its root, or ``ModelError`` naming the entry."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set()
            for info in archive.infolist():
                name = info.filename
                parts = PurePosixPath(name).parts
                if name.startswith(("/", "\\")) or ".." in parts or ":" in (parts or ("",))[0]:
                    raise ModelError(
                        f"model archive entry {name!r} escapes the package",
                        hint="upload the package as `pomar` packs it (entries relative to it)",
                    )
                if info.compress_type != zipfile.ZIP_STORED:
                    # Pomar packs models uncompressed: a compressed entry is not ours, and
                    # refusing it keeps a zip bomb from filling the disk when unpacked.
                    raise ModelError(
                        f"model archive entry {name!r} is compressed",
                        hint="upload the package as `pomar` packs it (PomarClient.upload_model)",
                    )
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise ModelError(
                        f"model archive entry {name!r} is a symbolic link",
                        hint="copy the package with links resolved (cp -RL) and submit again",
                    )
                names.add(name)
    except zipfile.BadZipFile as exc:
        raise ModelError(
            f"the model upload is not a package archive ({exc})",
            hint="upload the .mlpackage as `pomar` packs it, or the model file itself",
        ) from exc
    if "Manifest.json" not in names:
        raise ModelError(
            "the model archive has no Manifest.json at its root: not an .mlpackage",
            hint="upload the .mlpackage directory itself",
        )


def check_inputs(path: Path, shown_as: str = "inputs.npz") -> None:
    """An ``.npz`` of plain arrays, or ``InputsError`` (pickles and truncated files refused).
    Messages name the file ``shown_as``, as the user knows it."""
    if path.stat().st_size == 0:
        raise InputsError(f"{shown_as} is empty", hint="save the inputs with np.savez")
    with tempfile.TemporaryDirectory(prefix="pomar-inputs-") as tmp:
        link = Path(tmp) / (PurePosixPath(shown_as).name or "inputs.npz")
        link.symlink_to(path.resolve())
        read_npz(link)


def extract_package(path: Path, destination: Path) -> None:
    """Unpack a checked package archive into ``destination`` (an ``.mlpackage`` directory)."""
    check_package_archive(path)
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            out = destination.joinpath(*PurePosixPath(info.filename).parts)
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, out.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
