"""Input sets: a user's .npz is checked precisely; otherwise inputs are generated from a seed."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from orchestrator.inputs import generate_inputs, prepare_inputs
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifacts import load_arrays
from pomar_core.errors import InputsError
from pomar_core.wire import DType, InputOrigin, ModelFormat, ModelRef, SourceKind, TensorSpec
from tests.orchestrator.intake.helpers import assert_one_line_with_hint, stored_files

IMAGE = TensorSpec(name="image", dtype=DType.FLOAT16, shape=(1, 3, 4, 4))
TOKENS = TensorSpec(name="tokens", dtype=DType.INT32, shape=(1, 5))
OUT = TensorSpec(name="out", dtype=DType.FLOAT16, shape=(1, 2))


def _model(*inputs: TensorSpec) -> ModelRef:
    return ModelRef(
        sha256="0" * 64,
        format=ModelFormat.MLPACKAGE,
        name="m",
        source_kind=SourceKind.MLPACKAGE,
        specification_version=7,
        model_type="mlProgram",
        inputs=inputs or (IMAGE, TOKENS),
        outputs=(OUT,),
    )


def _npz(tmp_path: Path, **arrays: np.ndarray) -> Path:
    path = tmp_path / "inputs.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def _good(**overrides: np.ndarray) -> dict[str, np.ndarray]:
    arrays = {
        "image": np.zeros((1, 3, 4, 4), np.float32),
        "tokens": np.arange(5, dtype=np.int64).reshape(1, 5),
    }
    arrays.update(overrides)
    return arrays


def _rejects(path: Path, store: LocalArtifactStore, model: ModelRef | None = None) -> str:
    with pytest.raises(InputsError) as caught:
        prepare_inputs(model or _model(), store, path=path)
    assert_one_line_with_hint(caught.value)
    assert stored_files(store) == []
    return caught.value.message


def test_generated_inputs_follow_the_spec_and_the_seed(artifacts: LocalArtifactStore) -> None:
    arrays, input_set = prepare_inputs(_model(), artifacts, seed=7)
    assert arrays["image"].dtype == np.float16
    assert arrays["image"].shape == (1, 3, 4, 4)
    assert arrays["tokens"].dtype == np.int32
    assert input_set.origin is InputOrigin.GENERATED
    assert input_set.seed == 7
    again = generate_inputs(_model(), 7)
    assert all(np.array_equal(arrays[k], again[k]) for k in arrays)
    assert not np.array_equal(generate_inputs(_model(), 8)["image"], arrays["image"])
    stored = load_arrays(artifacts, input_set.sha256)
    assert all(np.array_equal(stored[k], arrays[k]) for k in arrays)


def test_a_valid_file_is_cast_to_the_model_dtypes_and_stored(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    arrays, input_set = prepare_inputs(_model(), artifacts, path=_npz(tmp_path, **_good()))
    assert arrays["image"].dtype == np.float16
    assert arrays["tokens"].dtype == np.int32
    assert input_set.origin is InputOrigin.FILE
    assert input_set.warnings == ()
    assert [(t.name, t.dtype) for t in input_set.tensors] == [
        ("image", DType.FLOAT16),
        ("tokens", DType.INT32),
    ]
    assert artifacts.exists(input_set.sha256)


def test_a_missing_input_is_named(artifacts: LocalArtifactStore, tmp_path: Path) -> None:
    path = _npz(tmp_path, image=np.zeros((1, 3, 4, 4), np.float32))
    assert "'tokens'" in _rejects(path, artifacts)


def test_an_extra_input_is_named(artifacts: LocalArtifactStore, tmp_path: Path) -> None:
    path = _npz(tmp_path, **_good(mask=np.ones((1, 5))))
    assert "'mask'" in _rejects(path, artifacts)


def test_a_misshaped_input_says_expected_and_found(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    path = _npz(tmp_path, **_good(image=np.zeros((1, 3, 8, 8), np.float32)))
    message = _rejects(path, artifacts)
    assert "[1, 3, 8, 8]" in message
    assert "[1, 3, 4, 4]" in message


def test_a_pickled_npz_is_refused(artifacts: LocalArtifactStore, tmp_path: Path) -> None:
    path = tmp_path / "inputs.npz"
    np.savez(path, image=np.array([{"a": 1}], dtype=object), tokens=np.zeros((1, 5)))
    assert "pickled" in _rejects(path, artifacts)


def test_a_plain_pickle_is_refused(artifacts: LocalArtifactStore, tmp_path: Path) -> None:
    path = tmp_path / "inputs.npz"
    path.write_bytes(pickle.dumps(_good()))
    assert "pickle" in _rejects(path, artifacts)


def test_values_that_overflow_the_model_dtype_are_refused(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    path = _npz(tmp_path, **_good(image=np.full((1, 3, 4, 4), 1e6, np.float32)))
    message = _rejects(path, artifacts)
    assert "float32" in message
    assert "float16" in message


def test_floats_for_an_integer_input_are_refused_unless_exact(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    path = _npz(tmp_path, **_good(tokens=np.full((1, 5), 0.5)))
    assert "int32" in _rejects(path, artifacts)


def test_nan_in_the_inputs_is_a_warning_not_an_error(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    image = np.zeros((1, 3, 4, 4), np.float32)
    image[0, 0, 0, :2] = np.nan
    _, input_set = prepare_inputs(_model(), artifacts, path=_npz(tmp_path, **_good(image=image)))
    assert len(input_set.warnings) == 1
    assert "'image'" in input_set.warnings[0]
    assert "2 NaN" in input_set.warnings[0]


def test_a_range_flexible_input_accepts_any_shape_in_range(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    flexible = TensorSpec(
        name="x", dtype=DType.FLOAT32, shape=(1, 8), shape_range=((1, 1), (4, -1))
    )
    model = _model(flexible)
    prepare_inputs(model, artifacts, path=_npz(tmp_path, x=np.zeros((1, 100), np.float32)))
    path = _npz(tmp_path, x=np.zeros((1, 2), np.float32))
    message = _rejects(path, LocalArtifactStore(tmp_path / "other"), model)
    assert "4..∞" in message


def test_an_enumerated_input_accepts_only_its_shapes(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    enumerated = TensorSpec(
        name="x", dtype=DType.FLOAT32, shape=(1, 8), enumerated_shapes=((1, 8), (2, 8))
    )
    model = _model(enumerated)
    prepare_inputs(model, artifacts, path=_npz(tmp_path, x=np.zeros((2, 8), np.float32)))
    path = _npz(tmp_path, x=np.zeros((3, 8), np.float32))
    assert "[1, 8] or [2, 8]" in _rejects(path, LocalArtifactStore(tmp_path / "other"), model)


def test_a_missing_inputs_file_is_an_inputs_error(
    artifacts: LocalArtifactStore, tmp_path: Path
) -> None:
    _rejects(tmp_path / "nope.npz", artifacts)
