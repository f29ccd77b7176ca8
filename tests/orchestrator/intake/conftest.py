"""Shared, session-scoped conversions: each tiny model is converted once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from orchestrator.intake import IntakeResult, intake_model
from pomar_core.artifact_stores.local import LocalArtifactStore
from tests.orchestrator.intake import tiny_models

TINY_FACTORY = "tests.orchestrator.intake.tiny_models:build"


@dataclass(frozen=True)
class SessionModels:
    root: Path
    store: LocalArtifactStore
    cache: Path
    tiny: IntakeResult
    """The tiny factory converted with default options (fp16, iOS16)."""


@pytest.fixture(scope="session")
def session_models(tmp_path_factory: pytest.TempPathFactory) -> SessionModels:
    root = tmp_path_factory.mktemp("intake-session")
    store = LocalArtifactStore(root / "artifacts")
    tiny = intake_model(TINY_FACTORY, store, root / "cache")
    return SessionModels(root=root, store=store, cache=root / "cache", tiny=tiny)


@pytest.fixture(scope="session")
def torchscript_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    module, examples = tiny_models.build()
    path = tmp_path_factory.mktemp("torchscript") / "tiny.pt"
    torch.jit.save(torch.jit.trace(module, examples), str(path))
    return path


@pytest.fixture(scope="session")
def exported_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    module, examples = tiny_models.build()
    # A misleading extension on purpose: intake must recognise the program by its content.
    path = tmp_path_factory.mktemp("export") / "tiny.bin"
    torch.export.save(torch.export.export(module, examples), str(path))
    return path


@pytest.fixture(scope="session")
def mlmodel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A neural-network .mlmodel, the older single-file format."""
    from orchestrator.intake.quiet import captured_stderr, coremltools

    ct = coremltools()
    module, examples = tiny_models.build()
    path = tmp_path_factory.mktemp("mlmodel") / "tiny.mlmodel"
    with captured_stderr():
        mlmodel = ct.convert(
            torch.jit.trace(module, examples),
            inputs=[ct.TensorType(name="features", shape=(1, 8))],
            convert_to="neuralnetwork",
            minimum_deployment_target=ct.target.iOS14,
        )
    mlmodel.save(str(path))
    return path
