"""Reference outputs: PyTorch fp32 for source models, the emulator for bare Core ML."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from orchestrator.inputs import prepare_inputs
from orchestrator.intake import ConversionOptions, intake_model
from orchestrator.reference import compute_reference
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifacts import load_arrays
from pomar_core.errors import ModelError
from pomar_core.wire import ReferenceKind
from tests.orchestrator.intake import tiny_models

TINY = "tests.orchestrator.intake.tiny_models"


def test_a_source_model_reference_is_pytorch_in_fp32(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    intake = intake_model(f"{TINY}:build", artifacts, tmp_path / "cache")
    arrays, _ = prepare_inputs(intake.model, artifacts, seed=3)
    outputs, reference = compute_reference(
        intake.model, arrays, artifacts, module=intake.module, example_inputs=intake.example_inputs
    )
    assert reference.kind is ReferenceKind.SOURCE_FP32
    assert "PyTorch fp32" in reference.description
    module, _ = tiny_models.build()
    with torch.no_grad():
        expected = module(torch.from_numpy(arrays["features"].astype(np.float32))).numpy()
    assert outputs["output"].dtype == np.float32
    np.testing.assert_allclose(outputs["output"], expected, rtol=1e-6)
    stored = load_arrays(artifacts, reference.sha256)
    np.testing.assert_array_equal(stored["output"], outputs["output"])
    assert [(t.name, t.shape) for t in reference.outputs] == [("output", (1, 4))]


def test_tuple_outputs_map_to_core_ml_names_in_order(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    intake = intake_model(
        f"{TINY}:build_two_heads",
        artifacts,
        tmp_path / "cache",
        ConversionOptions(output_names=("relu", "sigmoid")),
    )
    arrays, _ = prepare_inputs(intake.model, artifacts, seed=0)
    outputs, _ = compute_reference(intake.model, arrays, artifacts, module=intake.module)
    assert list(outputs) == ["relu", "sigmoid"]
    assert np.all(outputs["relu"] >= 0)
    assert np.all((outputs["sigmoid"] > 0) & (outputs["sigmoid"] < 1))


def test_a_source_with_a_different_number_of_outputs_is_a_model_error(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    intake = intake_model(f"{TINY}:build", artifacts, tmp_path / "cache")
    arrays, _ = prepare_inputs(intake.model, artifacts, seed=0)
    two_heads, _ = tiny_models.build_two_heads()
    with pytest.raises(ModelError) as caught:
        compute_reference(intake.model, arrays, artifacts, module=two_heads)
    assert "returned 2 tensors" in caught.value.message


def test_a_bare_core_ml_model_is_referenced_by_the_emulator_in_fp32(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    if importlib.util.find_spec("coreml_emulator") is None:
        pytest.skip("coreml_emulator has not landed yet")
    converted = intake_model(
        f"{TINY}:build", artifacts, tmp_path / "cache", ConversionOptions(precision="fp32")
    )
    bare = intake_model(converted.path, artifacts, tmp_path / "cache")
    arrays, _ = prepare_inputs(bare.model, artifacts, seed=5)
    outputs, reference = compute_reference(bare.model, arrays, artifacts, model_path=bare.path)
    assert reference.kind is ReferenceKind.EMULATOR_FP32
    assert "no source model" in reference.description
    assert converted.module is not None
    with torch.no_grad():
        expected = converted.module(torch.from_numpy(arrays["features"])).numpy()
    np.testing.assert_allclose(outputs["output"], expected, rtol=1e-5, atol=1e-6)
