"""Writing a repro bundle (``.tar.gz``) and reading one back, trusting nothing in it.

A reader accepts exactly ``pomar-repro/manifest.json`` and ``pomar-repro/artifacts/<sha256>``
regular files, each within :class:`BundleLimits`, each artifact hashing to its name and listed
in the manifest, and every artifact the job names present. Artifacts are staged on local disk
while reading, so a bundle that fails a check leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO

from pydantic import ValidationError

from orchestrator.repro.manifest import (
    ARTIFACTS,
    DEFAULT_LIMITS,
    MANIFEST,
    BundleLimits,
    ReproManifest,
)
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import UsageError

SHA256 = re.compile(r"[0-9a-f]{64}")
CHUNK = 1 << 20


def write_bundle(manifest: ReproManifest, artifacts: ArtifactStore, path: Path) -> None:
    """Write the manifest and every artifact it lists, atomically."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        with tarfile.open(partial, "w:gz") as archive:
            data = manifest.model_dump_json(indent=2).encode()
            archive.addfile(_info(MANIFEST, len(data)), io.BytesIO(data))
            for sha in sorted(manifest.artifacts):
                local = artifacts.local_path(sha)
                with local.open("rb") as f:
                    archive.addfile(_info(ARTIFACTS + sha, local.stat().st_size), f)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info


def _bad(path: Path, what: str) -> UsageError:
    return UsageError(
        f"{path} is not a usable Pomar repro bundle: {what}",
        hint="ask for a fresh `pomar export` of the job; never unpack an untrusted bundle by hand",
    )


@contextmanager
def read_bundle(
    path: Path, limits: BundleLimits = DEFAULT_LIMITS
) -> Iterator[tuple[ReproManifest, dict[str, Path]]]:
    """The validated manifest and sha256 → staged local file of each artifact (valid inside
    the ``with``); a ``UsageError`` naming the first problem otherwise."""
    if not path.is_file():
        raise UsageError(f"no bundle at {path}", hint="give the .tar.gz `pomar export` wrote")
    with tempfile.TemporaryDirectory(prefix="pomar-repro-") as tmp:
        manifest, staged = _read(path, Path(tmp), limits)
        yield manifest, staged


def _read(path: Path, staging: Path, limits: BundleLimits) -> tuple[ReproManifest, dict[str, Path]]:
    manifest_bytes: bytes | None = None
    staged: dict[str, Path] = {}
    total = count = 0
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                count += 1
                if count > limits.max_members:
                    raise _bad(path, f"more than {limits.max_members} members")
                _check_member(path, member, limits)
                total += member.size
                if total > limits.max_total_bytes:
                    raise _bad(path, f"members add up to more than {limits.max_total_bytes} bytes")
                source = archive.extractfile(member)
                if source is None:
                    raise _bad(path, f"member {member.name!r} has no data")
                if member.name == MANIFEST:
                    if manifest_bytes is not None:
                        raise _bad(path, "two manifests")
                    manifest_bytes = _read_exactly(path, source, member)
                    continue
                sha = member.name.removeprefix(ARTIFACTS)
                if sha in staged:
                    raise _bad(path, f"artifact {sha[:12]} twice")
                staged[sha] = _stage(path, source, member, sha, staging)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise _bad(path, f"cannot read it as a .tar.gz ({exc.__class__.__name__}: {exc})") from exc
    if manifest_bytes is None:
        raise _bad(path, f"no {MANIFEST}")
    manifest = _parse_manifest(path, manifest_bytes)
    _check_contents(path, manifest, staged)
    return manifest, staged


def _check_member(path: Path, member: tarfile.TarInfo, limits: BundleLimits) -> None:
    name = member.name
    parts = PurePosixPath(name).parts
    if name.startswith(("/", "\\")) or ".." in parts or "\\" in name or ":" in name:
        raise _bad(path, f"member {name!r} escapes the bundle")
    if not member.isfile():
        raise _bad(path, f"member {name!r} is not a regular file (links and devices are refused)")
    if name != MANIFEST and not (
        name.startswith(ARTIFACTS) and SHA256.fullmatch(name.removeprefix(ARTIFACTS))
    ):
        raise _bad(path, f"unexpected member {name!r}")
    limit = limits.max_manifest_bytes if name == MANIFEST else limits.max_member_bytes
    if member.size > limit:
        raise _bad(path, f"member {name!r} is {member.size} bytes, over the {limit}-byte limit")


def _read_exactly(path: Path, source: IO[bytes], member: tarfile.TarInfo) -> bytes:
    data = source.read(member.size + 1)
    if len(data) != member.size:
        raise _bad(path, f"member {member.name!r} is not {member.size} bytes long")
    return bytes(data)


def _stage(path: Path, source: IO[bytes], member: tarfile.TarInfo, sha: str, staging: Path) -> Path:
    target = staging / sha
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > member.size:
                raise _bad(path, f"member {member.name!r} is longer than it says")
            digest.update(chunk)
            out.write(chunk)
    if size != member.size:
        raise _bad(path, f"member {member.name!r} is shorter than it says")
    if digest.hexdigest() != sha:
        raise _bad(path, f"artifact {sha[:12]} does not hash to its name (tampered or corrupt)")
    return target


def _parse_manifest(path: Path, data: bytes) -> ReproManifest:
    try:
        return ReproManifest.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise _bad(path, f"manifest {where}: {first['msg']}") from None


def _check_contents(path: Path, manifest: ReproManifest, staged: dict[str, Path]) -> None:
    for sha, size in manifest.artifacts.items():
        if sha not in staged:
            raise _bad(path, f"the manifest lists artifact {sha[:12]} but the archive lacks it")
        if staged[sha].stat().st_size != size:
            raise _bad(path, f"artifact {sha[:12]} is not the size the manifest says")
    extra = set(staged) - set(manifest.artifacts)
    if extra:
        raise _bad(path, f"artifact {sorted(extra)[0][:12]} is not in the manifest")
    missing = manifest.required() - set(staged)
    if missing:
        raise _bad(path, f"the job needs artifact {sorted(missing)[0][:12]}, not in the bundle")


def copy_into(staged: dict[str, Path], artifacts: ArtifactStore) -> None:
    """Put every staged artifact into ``artifacts`` (content-addressed: re-putting is a no-op)."""
    for sha, local in staged.items():
        if not artifacts.exists(sha):
            stored = artifacts.put_file(local)
            assert stored == sha, (stored, sha)
