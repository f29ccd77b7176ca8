"""Each test model is preflighted once per session: conversions are the slow part."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.preflight import PreflightOutcome, PreflightRequest, run_preflight
from tests.orchestrator.preflight import models

FACTORIES = "tests.orchestrator.preflight.models"
OLD_AND_NEW = ("iPhone11,8", "iPhone14,6", "iPhone17,1")
"""iPhone XR (3 GB), iPhone SE 3rd gen (4 GB), iPhone 16 Pro (8 GB)."""


def _preflight(factory: str, **fields: object) -> PreflightOutcome:
    return run_preflight(
        PreflightRequest(model=f"{FACTORIES}:{factory}", devices=OLD_AND_NEW, **fields)  # type: ignore[arg-type]
    )


@pytest.fixture(scope="session")
def unconvertible() -> PreflightOutcome:
    return _preflight("build_unconvertible", extra_targets=("iOS18",))


@pytest.fixture(scope="session")
def loud() -> PreflightOutcome:
    return _preflight("build_loud_layer_norm")


@pytest.fixture(scope="session")
def masked() -> PreflightOutcome:
    return _preflight("build_masked_attention")


@pytest.fixture(scope="session")
def dilated() -> PreflightOutcome:
    return _preflight("build_dilated")


@pytest.fixture(scope="session")
def huge_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return models.save_huge_activation_program(tmp_path_factory.mktemp("huge") / "huge.mlpackage")


@pytest.fixture(scope="session")
def huge(huge_package: Path) -> PreflightOutcome:
    # The range trace would allocate the 2 GiB intermediate on this host: keep it far below.
    return run_preflight(
        PreflightRequest(model=huge_package, devices=OLD_AND_NEW, max_trace_bytes=64 * 1024**2)
    )
