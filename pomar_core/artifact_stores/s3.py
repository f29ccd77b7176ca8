"""Artifacts in an S3-compatible bucket (AWS S3, MinIO, …), cached on local disk by address.

Objects are ``<prefix><sha[:2]>/<sha>``. A read fetches the object once into the local cache
and checks its hash; later reads of the same address touch no network. A write is skipped when
the object already exists, so outputs are uploaded once. The bucket is reached through a small
:class:`ObjectClient` seam: :class:`Boto3ObjectClient` for real buckets (needs ``boto3``), and
:class:`MemoryObjectClient`, a fake that counts transfers, for tests.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlparse

from pomar_core.artifacts import sha256_bytes, sha256_file
from pomar_core.errors import ArtifactNotFound, StoreError, UsageError


class ObjectClient(Protocol):
    def exists(self, key: str) -> bool: ...

    def download(self, key: str, destination: Path) -> None:
        """Write the object to ``destination``; raise ``ArtifactNotFound`` if it is missing."""
        ...

    def upload(self, key: str, source: Path) -> None: ...


class S3ArtifactStore:
    """A content-addressed :class:`~pomar_core.artifacts.ArtifactStore` on a bucket."""

    def __init__(self, client: ObjectClient, cache_dir: Path, *, prefix: str = "") -> None:
        self.client = client
        self.cache_dir = cache_dir
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, cache_dir: Path) -> S3ArtifactStore:
        """``s3://bucket/prefix?endpoint=http://minio:9000``; credentials come from the usual
        AWS environment variables."""
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise UsageError(f"bad artifact URL '{url}'", hint="use s3://bucket/prefix")
        endpoint = parse_qs(parsed.query).get("endpoint", [None])[0]
        prefix = parsed.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return cls(Boto3ObjectClient(parsed.netloc, endpoint), cache_dir, prefix=prefix)

    def _key(self, sha: str) -> str:
        return f"{self.prefix}{sha[:2]}/{sha}"

    def _cached(self, sha: str) -> Path:
        return self.cache_dir / sha[:2] / sha

    def put_bytes(self, data: bytes) -> str:
        sha = sha256_bytes(data)
        if not self.exists(sha):
            path = self._stage(sha, data)
            self.client.upload(self._key(sha), path)
        return sha

    def put_file(self, path: Path) -> str:
        sha = sha256_file(path)
        if not self.exists(sha):
            self.client.upload(self._key(sha), path)
        return sha

    def get_bytes(self, sha256: str) -> bytes:
        return self.local_path(sha256).read_bytes()

    def local_path(self, sha256: str) -> Path:
        cached = self._cached(sha256)
        if cached.is_file():
            return cached
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".fetch-")
            os.close(fd)
            try:
                self.client.download(self._key(sha256), Path(tmp))
                if sha256_file(Path(tmp)) != sha256:
                    raise StoreError(
                        f"artifact {sha256[:12]} from the bucket does not hash to its address",
                        hint="the bucket is corrupt: delete that object and submit again",
                    )
                os.replace(tmp, cached)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot cache artifact in {cached.parent}: {exc.strerror or exc}",
                hint="check free disk space and permissions of POMAR_DATA_DIR",
            ) from exc
        return cached

    def exists(self, sha256: str) -> bool:
        return self._cached(sha256).is_file() or self.client.exists(self._key(sha256))

    def _stage(self, sha: str, data: bytes) -> Path:
        """Bytes we write are also cached: the writer never downloads them back."""
        cached = self._cached(sha)
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".put-")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, cached)
        return cached


class MemoryObjectClient:
    """A bucket in memory that counts transfers (the fake behind the S3 seam)."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.downloads = 0
        self.uploads = 0
        self._lock = threading.Lock()

    def exists(self, key: str) -> bool:
        with self._lock:
            return key in self.objects

    def download(self, key: str, destination: Path) -> None:
        with self._lock:
            if key not in self.objects:
                raise ArtifactNotFound(f"no object {key} in the bucket")
            self.downloads += 1
            data = self.objects[key]
        destination.write_bytes(data)

    def upload(self, key: str, source: Path) -> None:
        data = source.read_bytes()
        with self._lock:
            self.uploads += 1
            self.objects[key] = data


class Boto3ObjectClient:
    """A real bucket through boto3 (``pip install boto3``); errors become ``StoreError``."""

    def __init__(self, bucket: str, endpoint_url: str | None = None) -> None:
        try:
            import boto3  # type: ignore[import-not-found]
        except ImportError:
            raise StoreError(
                "POMAR_ARTIFACTS_URL is an s3:// URL but boto3 is not installed",
                hint="pip install boto3 on the coordinator and every agent host",
            ) from None
        self.bucket = bucket
        self._s3: Any = boto3.client("s3", endpoint_url=endpoint_url)

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except Exception as exc:
            if _status(exc) == 404:
                return False
            raise _store_error(exc) from exc

    def download(self, key: str, destination: Path) -> None:
        try:
            self._s3.download_file(self.bucket, key, str(destination))
        except Exception as exc:
            if _status(exc) == 404:
                raise ArtifactNotFound(f"no object {key} in bucket {self.bucket}") from exc
            raise _store_error(exc) from exc

    def upload(self, key: str, source: Path) -> None:
        try:
            self._s3.upload_file(str(source), self.bucket, key)
        except Exception as exc:
            raise _store_error(exc) from exc


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None) or {}
    code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(code) if code is not None else None


def _store_error(exc: Exception) -> StoreError:
    return StoreError(
        f"S3 artifact store error: {exc.__class__.__name__}",
        hint="check POMAR_ARTIFACTS_URL, the endpoint and the AWS credentials",
    )
