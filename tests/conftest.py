"""Shared fixtures. Markers for services and platforms are applied from fixtures, so a test that
needs Redis skips on a laptop without it and fails in CI (CI=true)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.settings import Settings

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_service(name: str, reason: str) -> None:
    """Skip locally, fail in CI, when a service a test needs is not there."""
    if IN_CI:
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a fresh data directory, embedded (no broker)."""
    return Settings(data_dir=tmp_path / "pomar-data", broker_url=None, store_url=None)


@pytest.fixture
def artifacts(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "artifacts")
