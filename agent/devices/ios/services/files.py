"""Files in an app's ``Documents`` folder, and how a local tree maps onto it.

Paths given to the verbs are relative to ``Documents``; a leading or trailing ``/`` is ignored.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol


class AppFiles(Protocol):
    def write_files(self, bundle_id: str, files: Mapping[str, bytes]) -> int:
        """Write files (creating folders); returns the bytes transferred."""
        ...

    def push_tree(self, bundle_id: str, local: Path, remote: str) -> int:
        """Copy a local file or folder to exactly ``remote``; returns the bytes transferred."""
        ...

    def read_file(self, bundle_id: str, path: str) -> bytes | None:
        """The file's bytes, or None when it does not exist."""
        ...

    def list_dir(self, bundle_id: str, path: str) -> list[str]:
        """Entry names in a folder; empty when the folder does not exist."""
        ...

    def remove(self, bundle_id: str, path: str) -> None:
        """Remove a file or a folder tree; nothing happens when it does not exist."""
        ...


def documents_relative(path: str) -> str:
    """``path`` as the verbs read it: relative to ``Documents``, no leading or trailing ``/``."""
    return path.strip("/")


def push_plan(local: Path, remote: str) -> list[tuple[Path, str]]:
    """(local file, remote path relative to ``Documents``) for every file ``push_tree`` copies:
    a file goes to exactly ``remote``, a folder's files to ``remote/<relative path>``."""
    if local.is_file():
        return [(local, documents_relative(remote))]
    files = sorted(p for p in local.rglob("*") if p.is_file())
    root = documents_relative(remote)
    return [(p, posixpath.join(root, p.relative_to(local).as_posix())) for p in files]
