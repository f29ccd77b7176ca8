"""Artifacts in a local (or shared) directory: ``<root>/<sha[:2]>/<sha>``."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from pomar_core.artifacts import sha256_bytes, sha256_file
from pomar_core.errors import ArtifactNotFound, StoreError


class LocalArtifactStore:
    """Content-addressed files under ``root``; writes go to a temp file and are renamed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put_bytes(self, data: bytes) -> str:
        sha = sha256_bytes(data)
        if not self.exists(sha):
            self._write(sha, lambda f: f.write(data))
        return sha

    def put_file(self, path: Path) -> str:
        sha = sha256_file(path)
        if not self.exists(sha):
            with path.open("rb") as src:
                self._write(sha, lambda f: shutil.copyfileobj(src, f))
        return sha

    def get_bytes(self, sha256: str) -> bytes:
        return self.local_path(sha256).read_bytes()

    def local_path(self, sha256: str) -> Path:
        path = self._path(sha256)
        if not path.is_file():
            raise ArtifactNotFound(
                f"artifact {sha256[:12]} is not in {self.root}",
                hint="submit the job again, or check that POMAR_ARTIFACTS_URL is the shared store",
            )
        return path

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def _write(self, sha: str, write: object) -> None:
        target = self._path(sha)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as f:
                    write(f)  # type: ignore[operator]
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StoreError(
                f"cannot write artifact to {target.parent}: {exc.strerror or exc}",
                hint="check free disk space and permissions of POMAR_DATA_DIR",
            ) from exc
