"""Artifact store implementations: a local directory (also a shared one in a small farm), an
S3-compatible bucket and an in-memory fake, and :func:`open_artifacts`, the one factory that
picks the store settings name. Open artifacts only through it."""

from __future__ import annotations

from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifact_stores.s3 import S3ArtifactStore
from pomar_core.artifacts import ArtifactStore
from pomar_core.settings import Settings


def open_artifacts(settings: Settings) -> ArtifactStore:
    """The configured artifact store: ``POMAR_ARTIFACTS_URL`` ``s3://bucket/prefix``, else the
    (possibly shared) directory ``settings.artifacts_dir``."""
    url = settings.artifacts_url or ""
    if url.startswith("s3://"):
        return S3ArtifactStore.from_url(url, cache_dir=settings.data_dir / "cache" / "artifacts")
    return LocalArtifactStore(settings.artifacts_dir)
