"""An artifact store that counts the bytes it moves into this process's metrics."""

from __future__ import annotations

from pathlib import Path

from pomar_core import metrics
from pomar_core.artifacts import ArtifactStore


class MeteredArtifactStore:
    """Wraps any :class:`ArtifactStore`; ``pomar_artifact_bytes_total{direction}``."""

    def __init__(self, inner: ArtifactStore) -> None:
        self.inner = inner

    def put_bytes(self, data: bytes) -> str:
        metrics.record_bytes("written", len(data))
        return self.inner.put_bytes(data)

    def put_file(self, path: Path) -> str:
        metrics.record_bytes("written", path.stat().st_size)
        return self.inner.put_file(path)

    def get_bytes(self, sha256: str) -> bytes:
        data = self.inner.get_bytes(sha256)
        metrics.record_bytes("read", len(data))
        return data

    def local_path(self, sha256: str) -> Path:
        path = self.inner.local_path(sha256)
        metrics.record_bytes("read", path.stat().st_size)
        return path

    def exists(self, sha256: str) -> bool:
        return self.inner.exists(sha256)
