"""The artifact store interface: bytes by content address (sha256).

Models, input sets, references and outputs travel between coordinator and agents by address,
never inside a Celery message. Implementations live in ``pomar_core/artifact_stores/``.
Unlike the job store, agents use this interface (to fetch models and upload outputs).
"""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

CHUNK = 1 << 20

NPY_LOCK = threading.Lock()
"""Held while numpy parses ``.npy`` headers. numpy reads them with ``ast.literal_eval``, and
CPython 3.11's AST state is shared between threads (python/cpython#106905): an agent loading
inputs on many device threads at once failed with "AST constructor recursion depth mismatch".
"""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@runtime_checkable
class ArtifactStore(Protocol):
    """A content-addressed blob store. Writes are atomic and idempotent."""

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its sha256. Storing the same bytes twice is a no-op."""
        ...

    def put_file(self, path: Path) -> str:
        """Store a file's bytes without reading it all into memory; return its sha256."""
        ...

    def get_bytes(self, sha256: str) -> bytes:
        """The bytes at ``sha256``; raises ``ArtifactNotFound``."""
        ...

    def local_path(self, sha256: str) -> Path:
        """A local file holding the bytes (fetched into a cache if the store is remote)."""
        ...

    def exists(self, sha256: str) -> bool: ...


def save_arrays(store: ArtifactStore, arrays: dict[str, npt.NDArray[np.generic]]) -> str:
    """Store named arrays as one ``.npz`` (no pickles) and return its address.

    The archive is written deterministically so equal arrays give equal addresses.
    """
    buf = io.BytesIO()
    named: dict[str, Any] = {name: np.ascontiguousarray(a) for name, a in sorted(arrays.items())}
    np.savez(buf, **named)
    return store.put_bytes(_strip_zip_times(buf.getvalue()))


def load_arrays(store: ArtifactStore, sha256: str) -> dict[str, npt.NDArray[np.generic]]:
    """Load an ``.npz`` artifact with pickles disabled."""
    with NPY_LOCK, np.load(store.local_path(sha256), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def save_array(store: ArtifactStore, array: npt.NDArray[np.generic]) -> str:
    """Store one array as ``.npy`` version 1.0 and return its address."""
    buf = io.BytesIO()
    np.lib.format.write_array(  # type: ignore[no-untyped-call]
        buf, np.ascontiguousarray(array), version=(1, 0), allow_pickle=False
    )
    return store.put_bytes(buf.getvalue())


def load_array(store: ArtifactStore, sha256: str) -> npt.NDArray[np.generic]:
    with NPY_LOCK:
        arr: npt.NDArray[np.generic] = np.load(store.local_path(sha256), allow_pickle=False)
    return arr


def _strip_zip_times(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so its hash depends on content only."""
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()
