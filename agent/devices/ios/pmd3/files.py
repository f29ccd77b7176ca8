"""Files in the app's Documents: house_arrest (VendDocuments) and AFC."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pymobiledevice3.exceptions import AfcFileNotFoundError
from pymobiledevice3.services.house_arrest import HouseArrestService

from agent.devices.ios.pmd3.connection import Pmd3Service
from agent.devices.ios.services.files import documents_relative, push_plan

DOCUMENTS = "/Documents"


def afc_path(path: str) -> str:
    """The AFC path of ``path`` (relative to Documents) in a VendDocuments container."""
    return posixpath.join(DOCUMENTS, documents_relative(path))


async def _write_all(afc: Any, files: Iterable[tuple[str, bytes]]) -> int:
    """Write each (AFC path, bytes), creating each parent folder once; the bytes written.
    ``files`` may be lazy, so a pushed tree is read one file at a time."""
    made: set[str] = set()
    total = 0
    for target, data in files:
        parent = posixpath.dirname(target)
        if parent not in made:
            await afc.makedirs(parent)
            made.add(parent)
        await afc.set_file_contents(target, data)
        total += len(data)
    return total


class Pmd3Files(Pmd3Service):
    """:class:`~agent.devices.ios.services.files.AppFiles` over house_arrest + AFC."""

    async def _open_documents(self, bundle_id: str) -> Any:
        """An AFC client on the app's Documents (use with ``async with``)."""
        # VendDocuments works for any app with UIFileSharingEnabled; one vend per connection.
        return await HouseArrestService.create(
            self.connection.lockdown, bundle_id, documents_only=True
        )

    def write_files(self, bundle_id: str, files: Mapping[str, bytes]) -> int:
        async def go() -> int:
            async with await self._open_documents(bundle_id) as afc:
                return await _write_all(afc, ((afc_path(p), d) for p, d in files.items()))

        return self.connection.call(go, "writing job files")

    def push_tree(self, bundle_id: str, local: Path, remote: str) -> int:
        plan = push_plan(local, remote)

        async def go() -> int:
            async with await self._open_documents(bundle_id) as afc:
                return await _write_all(afc, ((afc_path(t), p.read_bytes()) for p, t in plan))

        return self.connection.call(go, f"pushing {local.name}", 1800)

    def read_file(self, bundle_id: str, path: str) -> bytes | None:
        async def go() -> bytes | None:
            async with await self._open_documents(bundle_id) as afc:
                try:
                    data: bytes = await afc.get_file_contents(afc_path(path))
                except AfcFileNotFoundError:
                    return None
            return data

        return self.connection.call(go, f"reading {path}")

    def list_dir(self, bundle_id: str, path: str) -> list[str]:
        async def go() -> list[str]:
            async with await self._open_documents(bundle_id) as afc:
                try:
                    names: list[str] = await afc.listdir(afc_path(path))
                except AfcFileNotFoundError:
                    return []
            return names

        return self.connection.call(go, f"listing {path}")

    def remove(self, bundle_id: str, path: str) -> None:
        async def go() -> None:
            async with await self._open_documents(bundle_id) as afc:
                await afc.rm(afc_path(path), force=True)

        self.connection.call(go, f"removing {path}")
