"""Each way of handing Pomar a model ends in a stored model with a correct ModelRef."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrator.intake import ConversionOptions, FrontEnd, inspect_model, intake_model
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.wire import DType, ModelFormat, Precision, SourceKind
from tests.orchestrator.intake.conftest import TINY_FACTORY, SessionModels

TINY_FILE = str(Path(__file__).with_name("tiny_models.py"))


def test_a_module_factory_is_converted_stored_and_inspected(session_models: SessionModels) -> None:
    ref = session_models.tiny.model
    assert ref.source_kind is SourceKind.FACTORY
    assert ref.format is ModelFormat.MLPACKAGE
    assert ref.model_type == "mlProgram"
    assert ref.specification_version == 7
    assert ref.deployment_target == "iOS16"
    assert ref.precision is Precision.FP16
    assert [(t.name, t.shape) for t in ref.inputs] == [("features", (1, 8))]
    assert [(t.name, t.shape) for t in ref.outputs] == [("output", (1, 4))]
    # coremltools gives a traced model fp16 I/O at iOS16 with fp16 compute; we read, not assume.
    assert ref.inputs[0].dtype is DType.FLOAT16
    assert {"linear", "relu"} <= set(ref.ops)
    assert session_models.store.exists(ref.sha256)
    assert ref.source_sha256 is not None
    assert session_models.store.exists(ref.source_sha256)
    assert session_models.tiny.module is not None
    assert session_models.tiny.path.name == "model.mlpackage"


def test_a_file_factory_converts_to_the_same_model_as_its_module_form(
    session_models: SessionModels,
) -> None:
    result = intake_model(f"{TINY_FILE}:build", session_models.store, session_models.cache)
    assert result.model.sha256 == session_models.tiny.model.sha256
    assert result.model.name == f"{TINY_FILE}:build"


def test_converting_the_same_model_twice_gives_the_same_address(
    session_models: SessionModels,
) -> None:
    again = intake_model(TINY_FACTORY, session_models.store, session_models.cache)
    assert again.model.sha256 == session_models.tiny.model.sha256


def test_a_copied_mlpackage_keeps_its_address_and_interface(
    session_models: SessionModels, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.mlpackage"
    shutil.copytree(session_models.tiny.path, copy)
    result = intake_model(copy, session_models.store, session_models.cache)
    assert result.model.sha256 == session_models.tiny.model.sha256
    assert result.model.source_kind is SourceKind.MLPACKAGE
    assert result.model.inputs == session_models.tiny.model.inputs
    assert result.model.outputs == session_models.tiny.model.outputs
    assert result.model.ops == session_models.tiny.model.ops
    assert result.module is None
    assert result.model.source_sha256 is None


def test_an_mlmodel_file_is_stored_as_its_bytes(
    mlmodel_file: Path, artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    result = intake_model(mlmodel_file, artifacts, tmp_path / "cache")
    ref = result.model
    assert ref.format is ModelFormat.MLMODEL
    assert ref.source_kind is SourceKind.MLMODEL
    assert ref.model_type == "neuralNetwork"
    assert ref.ops == ()
    assert [(t.name, t.dtype, t.shape) for t in ref.inputs] == [("features", DType.FLOAT32, (1, 8))]
    assert artifacts.get_bytes(ref.sha256) == mlmodel_file.read_bytes()
    assert result.path.read_bytes() == mlmodel_file.read_bytes()


def test_a_torchscript_file_is_converted_with_its_recorded_shapes(
    torchscript_file: Path, artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    result = intake_model(
        torchscript_file,
        artifacts,
        tmp_path / "cache",
        ConversionOptions(precision=Precision.FP32, input_names=("features",)),
    )
    ref = result.model
    assert ref.source_kind is SourceKind.TORCHSCRIPT
    assert ref.precision is Precision.FP32
    assert [(t.name, t.dtype, t.shape) for t in ref.inputs] == [("features", DType.FLOAT32, (1, 8))]
    assert [t.shape for t in ref.outputs] == [(1, 4)]
    assert ref.source_sha256 == artifacts.put_file(torchscript_file)
    assert result.module is not None


def test_a_saved_export_program_is_recognised_by_content_not_extension(
    exported_file: Path, artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    result = intake_model(exported_file, artifacts, tmp_path / "cache")
    ref = result.model
    assert ref.source_kind is SourceKind.TORCH_EXPORT
    assert [(t.name, t.shape) for t in ref.inputs] == [("features", (1, 8))]
    assert [(t.name, t.shape) for t in ref.outputs] == [("output", (1, 4))]
    assert result.example_inputs is not None


def test_the_torch_export_front_end_can_be_chosen_for_a_factory(
    session_models: SessionModels, tmp_path: Path
) -> None:
    result = intake_model(
        TINY_FACTORY,
        session_models.store,
        tmp_path / "cache",
        ConversionOptions(front_end=FrontEnd.TORCH_EXPORT, precision=Precision.FP32),
    )
    assert [t.name for t in result.model.inputs] == ["features"]
    assert result.model.outputs[0].dtype is DType.FLOAT32


def test_names_asked_for_are_the_names_in_the_spec(
    session_models: SessionModels, tmp_path: Path
) -> None:
    result = intake_model(
        "tests.orchestrator.intake.tiny_models:build_two_heads",
        session_models.store,
        tmp_path / "cache",
        ConversionOptions(input_names=("x",), output_names=("relu", "sigmoid")),
    )
    assert [t.name for t in result.model.inputs] == ["x"]
    assert [t.name for t in result.model.outputs] == ["relu", "sigmoid"]


def test_flexible_input_shapes_are_read_from_the_spec(tmp_path: Path) -> None:
    import torch

    from orchestrator.intake.quiet import captured_stderr, coremltools
    from tests.orchestrator.intake.tiny_models import build

    ct = coremltools()
    module, examples = build()
    traced = torch.jit.trace(module, examples)
    with captured_stderr():
        ranged = ct.convert(
            traced,
            inputs=[ct.TensorType(name="features", shape=(ct.RangeDim(1, 16, default=2), 8))],
            convert_to="mlprogram",
        )
        enumerated = ct.convert(
            traced,
            inputs=[
                ct.TensorType(
                    name="features",
                    shape=ct.EnumeratedShapes(shapes=[(1, 8), (4, 8)], default=(1, 8)),
                )
            ],
            convert_to="mlprogram",
        )
    ranged.save(str(tmp_path / "ranged.mlpackage"))
    enumerated.save(str(tmp_path / "enumerated.mlpackage"))
    ranged_input = inspect_model(tmp_path / "ranged.mlpackage").inputs[0]
    assert ranged_input.shape_range == ((1, 16), (8, 8))
    assert ranged_input.shape == (2, 8)
    enumerated_input = inspect_model(tmp_path / "enumerated.mlpackage").inputs[0]
    assert enumerated_input.enumerated_shapes == ((1, 8), (4, 8))


@pytest.mark.parametrize("example", ["cnn", "transformer", "fp16_overflow"])
def test_the_examples_convert(example: str, session_models: SessionModels, tmp_path: Path) -> None:
    result = intake_model(f"examples.{example}:build", session_models.store, tmp_path / "cache")
    assert result.model.ops
    assert result.module is not None
