"""Every bad model from issue 2 ends in one ModelError line with a hint, and stores nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from orchestrator.intake import ConversionOptions, FrontEnd, intake_model
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.errors import ConversionError, ModelError
from tests.orchestrator.intake.conftest import SessionModels
from tests.orchestrator.intake.helpers import assert_one_line_with_hint, stored_files

TINY = "tests.orchestrator.intake.tiny_models"


def _fails(spec: str | Path, artifacts: LocalArtifactStore, tmp_path: Path) -> ModelError:
    with pytest.raises(ModelError) as caught:
        intake_model(spec, artifacts, tmp_path / "cache")
    assert_one_line_with_hint(caught.value)
    assert stored_files(artifacts) == []
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
    return caught.value


def test_missing_path_is_a_model_error(artifacts: LocalArtifactStore, tmp_path: Path) -> None:
    error = _fails(tmp_path / "nope.mlpackage", artifacts, tmp_path)
    assert "does not exist" in error.message


def test_a_directory_that_is_not_an_mlpackage_is_refused(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "readme.txt").write_text("hello")
    error = _fails(folder, artifacts, tmp_path)
    assert "not an .mlpackage" in error.message


def test_a_truncated_mlmodel_is_refused(
    mlmodel_file: Path, artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.mlmodel"
    data = mlmodel_file.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    error = _fails(cut, artifacts, tmp_path)
    assert "cut.mlmodel" in error.message


def test_random_bytes_are_not_a_model(artifacts: LocalArtifactStore, tmp_path: Path) -> None:
    junk = tmp_path / "model.mlmodel"
    junk.write_bytes(bytes(range(256)) * 16)
    _fails(junk, artifacts, tmp_path)


def test_an_empty_file_is_refused(artifacts: LocalArtifactStore, tmp_path: Path) -> None:
    empty = tmp_path / "model.mlmodel"
    empty.write_bytes(b"")
    assert "empty" in _fails(empty, artifacts, tmp_path).message


def test_an_mlpackage_with_truncated_weights_is_refused(
    session_models: SessionModels, artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    package = tmp_path / "broken.mlpackage"
    shutil.copytree(session_models.tiny.path, package)
    weights = package / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    weights.write_bytes(weights.read_bytes()[:64])
    assert "truncated" in _fails(package, artifacts, tmp_path).message


def test_an_mlpackage_whose_spec_is_garbage_is_refused(
    session_models: SessionModels, artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    package = tmp_path / "broken.mlpackage"
    shutil.copytree(session_models.tiny.path, package)
    (package / "Data" / "com.apple.CoreML" / "model.mlmodel").write_bytes(b"\xff" * 100)
    _fails(package, artifacts, tmp_path)


def test_a_truncated_torchscript_file_is_refused(
    torchscript_file: Path, artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.pt"
    data = torchscript_file.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert "truncated" in _fails(cut, artifacts, tmp_path).message


def test_a_torch_save_checkpoint_is_refused_with_a_way_forward(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "weights.pt"
    torch.save({"fc.weight": torch.zeros(4, 8)}, checkpoint)
    error = _fails(checkpoint, artifacts, tmp_path)
    assert "torch.save" in error.message
    assert "factory" in (error.hint or "")


def test_a_factory_that_raises_names_the_exception(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    error = _fails(f"{TINY}:build_raises", artifacts, tmp_path)
    assert "RuntimeError: weights file not found" in error.message


@pytest.mark.parametrize(
    "function",
    [
        "build_returns_none",
        "build_returns_module_only",
        "build_returns_bad_inputs",
        "build_returns_not_a_module",
    ],
)
def test_a_factory_that_returns_the_wrong_thing_says_what_it_must_return(
    function: str, artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    error = _fails(f"{TINY}:{function}", artifacts, tmp_path)
    assert "(torch.nn.Module, example_inputs)" in (error.hint or "")


def test_a_factory_file_that_does_not_import_is_refused(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    broken = tmp_path / "broken_model.py"
    broken.write_text("import torch\n\ndef build(:\n")
    error = _fails(f"{broken}:build", artifacts, tmp_path)
    assert "SyntaxError" in error.message


def test_a_factory_name_that_does_not_exist_is_refused(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    assert "no function" in _fails(f"{TINY}:no_such_builder", artifacts, tmp_path).message


def test_a_python_file_without_a_function_asks_for_one(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    script = tmp_path / "model.py"
    script.write_text("x = 1\n")
    assert f"{script}:build" in (_fails(script, artifacts, tmp_path).hint or "")


@pytest.mark.parametrize("front_end", [FrontEnd.AUTO, FrontEnd.TORCH_EXPORT])
def test_an_op_the_converter_cannot_handle_is_named(
    front_end: FrontEnd, artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    with pytest.raises(ConversionError) as caught:
        intake_model(
            f"{TINY}:build_unsupported",
            artifacts,
            tmp_path / "cache",
            ConversionOptions(front_end=front_end),
        )
    assert "'lgamma'" in caught.value.message
    assert_one_line_with_hint(caught.value)
    assert stored_files(artifacts) == []


def test_an_unknown_deployment_target_is_a_conversion_error(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    with pytest.raises(ConversionError) as caught:
        intake_model(
            f"{TINY}:build",
            artifacts,
            tmp_path / "cache",
            ConversionOptions(deployment_target="iOS14"),
        )
    assert_one_line_with_hint(caught.value)
    assert stored_files(artifacts) == []
