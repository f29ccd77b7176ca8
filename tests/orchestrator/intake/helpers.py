"""Assertions shared by the intake, inputs and reference tests."""

from __future__ import annotations

from pathlib import Path

from pomar_core.artifact_stores.local import LocalArtifactStore


def stored_files(store: LocalArtifactStore) -> list[Path]:
    """Every file in the store, temp files included: what a failed intake must not leave."""
    if not store.root.exists():
        return []
    return sorted(p for p in store.root.rglob("*") if p.is_file())


def assert_one_line_with_hint(error: Exception) -> None:
    from pomar_core.errors import PomarError

    assert isinstance(error, PomarError)
    assert error.hint, "a user-facing error says what to do"
    line = error.one_line()
    assert "\n" not in line
    assert "Traceback" not in line
