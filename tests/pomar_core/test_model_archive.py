"""Models pack deterministically into one artifact and unpack once per sha256."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pomar_core.artifact_stores.memory import MemoryArtifactStore
from pomar_core.errors import ModelError
from pomar_core.model_archive import (
    cached_model_path,
    canonical_manifest,
    store_model,
    unpack_model,
)
from pomar_core.wire import DType, ModelFormat, ModelRef, SourceKind, TensorSpec

MANIFEST = {
    "fileFormatVersion": "1.0.0",
    "itemInfoEntries": {
        "4E1B8908-EA1D-42AD-BD38-A642F00006C2": {
            "author": "com.apple.CoreML",
            "description": "CoreML Model Specification",
            "name": "model.mlmodel",
            "path": "com.apple.CoreML/model.mlmodel",
        },
        "0A9A0829-D31C-41E6-8B1E-F66B1060D64A": {
            "author": "com.apple.CoreML",
            "description": "CoreML Model Weights",
            "name": "weights",
            "path": "com.apple.CoreML/weights",
        },
    },
    "rootModelIdentifier": "4E1B8908-EA1D-42AD-BD38-A642F00006C2",
}


def _package(root: Path, manifest: dict[str, object] = MANIFEST) -> Path:
    package = root / "model.mlpackage"
    (package / "Data" / "com.apple.CoreML" / "weights").mkdir(parents=True)
    (package / "Manifest.json").write_text(json.dumps(manifest))
    (package / "Data" / "com.apple.CoreML" / "model.mlmodel").write_bytes(b"spec bytes")
    (package / "Data" / "com.apple.CoreML" / "weights" / "weight.bin").write_bytes(b"\x01" * 300)
    return package


def _ref(sha256: str, fmt: ModelFormat) -> ModelRef:
    tensor = TensorSpec(name="x", dtype=DType.FLOAT32, shape=(1,))
    return ModelRef(
        sha256=sha256,
        format=fmt,
        name="m",
        source_kind=SourceKind.MLPACKAGE,
        specification_version=7,
        model_type="mlProgram",
        inputs=(tensor,),
        outputs=(tensor,),
    )


def test_the_same_package_written_twice_has_the_same_address(tmp_path: Path) -> None:
    store = MemoryArtifactStore()
    first = _package(tmp_path / "a")
    second = _package(tmp_path / "b")
    os.utime(second / "Manifest.json", (0, 0))
    assert store_model(store, first)[0] == store_model(store, second)[0]


def test_packages_that_differ_only_in_manifest_identifiers_share_an_address(
    tmp_path: Path,
) -> None:
    other = json.loads(json.dumps(MANIFEST).replace("4E1B8908", "99999999"))
    store = MemoryArtifactStore()
    first, _ = store_model(store, _package(tmp_path / "a"))
    second, _ = store_model(store, _package(tmp_path / "b", other))
    assert first == second


def test_a_different_weight_changes_the_address(tmp_path: Path) -> None:
    store = MemoryArtifactStore()
    first = _package(tmp_path / "a")
    second = _package(tmp_path / "b")
    (second / "Data" / "com.apple.CoreML" / "weights" / "weight.bin").write_bytes(b"\x02" * 300)
    assert store_model(store, first)[0] != store_model(store, second)[0]


def test_the_canonical_manifest_still_points_at_the_root_model() -> None:
    manifest = json.loads(canonical_manifest(json.dumps(MANIFEST).encode()))
    root = manifest["itemInfoEntries"][manifest["rootModelIdentifier"]]
    assert root["path"] == "com.apple.CoreML/model.mlmodel"


def test_the_archive_has_sorted_entries_and_fixed_times(tmp_path: Path) -> None:
    store = MemoryArtifactStore()
    sha, fmt = store_model(store, _package(tmp_path))
    assert fmt is ModelFormat.MLPACKAGE
    with zipfile.ZipFile(store.local_path(sha)) as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_an_mlmodel_is_stored_as_its_own_bytes(tmp_path: Path) -> None:
    model = tmp_path / "m.mlmodel"
    model.write_bytes(b"protobuf bytes")
    store = MemoryArtifactStore()
    sha, fmt = store_model(store, model)
    assert fmt is ModelFormat.MLMODEL
    assert store.get_bytes(sha) == b"protobuf bytes"
    path = unpack_model(store, _ref(sha, fmt), tmp_path / "cache")
    assert path.name == "model.mlmodel"
    assert path.read_bytes() == b"protobuf bytes"


def test_unpacking_restores_the_package_once_per_address(tmp_path: Path) -> None:
    package = _package(tmp_path / "src")
    store = MemoryArtifactStore()
    sha, fmt = store_model(store, package)
    ref = _ref(sha, fmt)
    path = unpack_model(store, ref, tmp_path / "cache")
    assert path == cached_model_path(ref, tmp_path / "cache")
    weights = path / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    assert weights.read_bytes() == b"\x01" * 300
    reads = store.reads
    assert unpack_model(store, ref, tmp_path / "cache") == path
    assert store.reads == reads, "a cached model is not fetched again"
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [sha], "no staging left behind"


def test_a_package_with_a_symlink_is_refused(tmp_path: Path) -> None:
    package = _package(tmp_path)
    (package / "Data" / "link").symlink_to(tmp_path)
    with pytest.raises(ModelError):
        store_model(MemoryArtifactStore(), package)


def test_an_unpacked_package_is_a_directory_that_repacks_to_the_same_address(
    tmp_path: Path,
) -> None:
    store = MemoryArtifactStore()
    sha, fmt = store_model(store, _package(tmp_path / "src"))
    path = unpack_model(store, _ref(sha, fmt), tmp_path / "cache")
    copy = tmp_path / "copy.mlpackage"
    shutil.copytree(path, copy)
    assert store_model(store, copy)[0] == sha


def test_the_archive_module_does_not_import_torch_or_coremltools() -> None:
    code = (
        "import sys, pomar_core.model_archive; "
        "print(sorted(m for m in ('torch', 'coremltools') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_an_empty_folder_of_a_package_survives_storing_and_unpacking(tmp_path: Path) -> None:
    from pomar_core.artifact_stores.local import LocalArtifactStore
    from pomar_core.model_archive import store_model, unpack_model
    from tests.factories import model_ref

    package = tmp_path / "m.mlpackage"
    (package / "Data" / "com.apple.CoreML" / "weights").mkdir(parents=True)
    (package / "Data" / "com.apple.CoreML" / "model.mlmodel").write_bytes(b"spec")
    (package / "Manifest.json").write_text("{}")
    store = LocalArtifactStore(tmp_path / "store")
    sha, _ = store_model(store, package)
    unpacked = unpack_model(store, model_ref(sha), tmp_path / "cache")
    assert (unpacked / "Data" / "com.apple.CoreML" / "weights").is_dir()
    assert (unpacked / "Data" / "com.apple.CoreML" / "model.mlmodel").read_bytes() == b"spec"
