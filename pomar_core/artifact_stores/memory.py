"""An in-memory artifact store for tests; ``local_path`` spills to a temp directory."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pomar_core.artifacts import sha256_bytes
from pomar_core.errors import ArtifactNotFound


class MemoryArtifactStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._spill: Path | None = None
        self.reads = 0
        """How many times bytes were fetched: lets tests prove caching transfers nothing."""

    def put_bytes(self, data: bytes) -> str:
        sha = sha256_bytes(data)
        self._blobs.setdefault(sha, data)
        return sha

    def put_file(self, path: Path) -> str:
        return self.put_bytes(path.read_bytes())

    def get_bytes(self, sha256: str) -> bytes:
        try:
            data = self._blobs[sha256]
        except KeyError:
            raise ArtifactNotFound(f"artifact {sha256[:12]} is not in the memory store") from None
        self.reads += 1
        return data

    def local_path(self, sha256: str) -> Path:
        data = self.get_bytes(sha256)
        if self._spill is None:
            self._spill = Path(tempfile.mkdtemp(prefix="pomar-artifacts-"))
        path = self._spill / sha256
        if not path.exists():
            path.write_bytes(data)
        return path

    def exists(self, sha256: str) -> bool:
        return sha256 in self._blobs
