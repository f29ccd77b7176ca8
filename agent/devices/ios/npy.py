"""``.npy`` version 1.0 bytes, the tensor format of the harness protocol (never pickled)."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt

from pomar_core.artifacts import NPY_LOCK
from pomar_core.errors import ProtocolError


def to_npy_bytes(array: npt.NDArray[np.generic]) -> bytes:
    """C-order, format version 1.0, which the Swift reader understands."""
    buffer = io.BytesIO()
    # np.save picks version 1.0 unless the header exceeds 64 KiB (never for plain dtypes).
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def from_npy_bytes(data: bytes, *, name: str = "tensor") -> npt.NDArray[np.generic]:
    try:
        with NPY_LOCK:  # the agent pulls outputs of several phones at once
            array: npt.NDArray[np.generic] = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ProtocolError(f"{name}: not a valid .npy file ({exc})") from exc
    return array
