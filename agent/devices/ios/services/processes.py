"""Launching, killing and polling the app's process."""

from __future__ import annotations

from typing import Protocol


class AppProcesses(Protocol):
    def launch(self, bundle_id: str, arguments: list[str]) -> int:
        """Launch the app (killing a running instance) and return its pid."""
        ...

    def kill(self, pid: int) -> None: ...

    def is_running(self, pid: int) -> bool: ...
