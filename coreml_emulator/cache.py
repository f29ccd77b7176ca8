"""Parsed programs kept by the model's content, so ``predict(model, ...)`` parses a model once.

The key is the serialized spec plus every file in the model's weights directory (small files by
their bytes, large ones by path, size and modification time): two ``MLModel`` objects of the
same model share one entry, and a model re-saved with new weights gets a new one. Hashing the
spec is cheap for ML programs (weights live in ``weight.bin``, outside it).

An ``MLModel`` object is keyed once: later calls with the same object find its program by
identity, without hashing. That is Core ML's behaviour too — ``MLModel`` compiles its spec when
it is created, so editing ``model._spec`` in place afterwards changes neither.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from pathlib import Path
from threading import Lock
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coreml_emulator.program import EmulatedProgram

MAX_PROGRAMS = 8
"""Programs kept at once; the least recently used is dropped first."""

_programs: OrderedDict[str, EmulatedProgram] = OrderedDict()
_by_object: weakref.WeakKeyDictionary[Any, EmulatedProgram] = weakref.WeakKeyDictionary()
_lock = Lock()


def cached_program(model: Any) -> EmulatedProgram:
    """The parsed program for ``model`` (an ``MLModel`` or a path), parsing it only once.

    A flexible-shape program is also type-checked once at its default shapes, as Core ML does
    when it loads one (:func:`coreml_emulator.default_shapes.check_default_shapes`)."""
    from coreml_emulator.default_shapes import check_default_shapes
    from coreml_emulator.program import EmulatedProgram, load_program

    if isinstance(model, EmulatedProgram):
        return model
    keyed_by_object = not isinstance(model, str | Path)
    if keyed_by_object:
        known = _by_object.get(model)
        if known is not None:
            return known
    key = content_key(model)
    with _lock:
        program = _programs.get(key)
        if program is not None:
            _programs.move_to_end(key)
            if keyed_by_object:
                _by_object[model] = program
            return program
    program = load_program(model)
    if any(f.flexible for f in program.inputs):
        check_default_shapes(model)
    with _lock:
        _programs[key] = program
        if keyed_by_object:
            _by_object[model] = program
        while len(_programs) > MAX_PROGRAMS:
            _programs.popitem(last=False)
    return program


def clear() -> None:
    """Forget every cached program."""
    with _lock:
        _programs.clear()
        _by_object.clear()


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


SMALL_FILE = 1 << 16
"""Files up to this size are keyed by their bytes: coremltools rewrites an ``.mlpackage``'s
``Manifest.json`` (same content, new modification time) every time it opens the package."""


def _add_file(digest: Any, path: Path) -> None:
    if not path.is_file():
        return
    stat = path.stat()
    digest.update(f"{path.name}\0{stat.st_size}\0".encode())
    if stat.st_size <= SMALL_FILE:
        digest.update(path.read_bytes())
    else:
        digest.update(f"{path}\0{stat.st_mtime_ns}\0".encode())
