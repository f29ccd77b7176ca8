"""Parsed programs kept by the model's content, so ``predict(model, ...)`` parses a model once.

The key is the serialized spec plus the identity (path, size, modification time) of every file
in the model's weights directory: two ``MLModel`` objects of the same model share one entry, and
a model re-saved with new weights gets a new one. Hashing the spec is cheap for ML programs
(weights live in ``weight.bin``, outside it).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coreml_emulator.program import EmulatedProgram

MAX_PROGRAMS = 8
"""Programs kept at once; the least recently used is dropped first."""

_programs: OrderedDict[str, EmulatedProgram] = OrderedDict()
_lock = Lock()


def cached_program(model: Any) -> EmulatedProgram:
    """The parsed program for ``model`` (an ``MLModel`` or a path), parsing it only once.

    A flexible-shape program is also run once at its default shapes, as Core ML does when it
    loads one (:meth:`EmulatedProgram.check_default_shapes`)."""
    from coreml_emulator.program import EmulatedProgram, load_program

    if isinstance(model, EmulatedProgram):
        return model
    key = content_key(model)
    with _lock:
        program = _programs.get(key)
        if program is not None:
            _programs.move_to_end(key)
            return program
    program = load_program(model)
    program.check_default_shapes()
    with _lock:
        _programs[key] = program
        while len(_programs) > MAX_PROGRAMS:
            _programs.popitem(last=False)
    return program


def clear() -> None:
    """Forget every cached program."""
    with _lock:
        _programs.clear()


def content_key(model: Any) -> str:
    """A digest of ``model``'s spec and weight files (an ``MLModel``, or a path)."""
    digest = hashlib.sha256()
    if isinstance(model, str | Path):
        root = Path(model).resolve()
        digest.update(str(root).encode())
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            _add_file(digest, path)
        return digest.hexdigest()
    spec = getattr(model, "_spec", None) or model.get_spec()
    digest.update(spec.SerializeToString())
    weights = getattr(model, "weights_dir", None)
    if weights:
        for path in sorted(Path(weights).rglob("*")):
            _add_file(digest, path)
    return digest.hexdigest()


def _add_file(digest: Any, path: Path) -> None:
    if path.is_file():
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
