"""Repro bundles: a job and its runs survive export → import into another store unchanged,
and a hostile or broken archive is refused with one line, leaving the target store untouched."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from agent.devices.emulated.device import emulated_device_info
from orchestrator.repro import BundleLimits, export_bundle, import_bundle
from orchestrator.repro.manifest import ARTIFACTS, MANIFEST
from orchestrator.store import JobStore
from orchestrator.stores import open_store
from pomar_core.artifact_stores.local import LocalArtifactStore
from pomar_core.artifacts import load_array, save_array, save_arrays
from pomar_core.errors import UsageError
from pomar_core.wire import DType, OutputRef, RunResult, RunStatus
from tests.factories import job_spec, run_spec

Members = dict[str, tuple[tarfile.TarInfo, bytes]]


def _finished_job(root: Path) -> tuple[str, str, Path]:
    """A store with one job of two runs, one finished with an output; (job, run, store dir)."""
    store = open_store(f"sqlite:///{root / 'pomar.sqlite3'}")
    artifacts = LocalArtifactStore(root / "artifacts")
    model = artifacts.put_bytes(b"stand-in model bytes")
    inputs = save_arrays(artifacts, {"x": np.arange(6, dtype=np.float32)})
    job = job_spec("job-repro", inputs_sha256=inputs)
    job = job.model_copy(update={"model": job.model.model_copy(update={"sha256": model})})
    done, waiting = run_spec(job, 0), run_spec(job, 1)
    store.add_job(job, [(done, "pomar.device.emulated-0"), (waiting, "pomar.device.emulated-0")])
    y = save_array(artifacts, np.full(3, 7.0, dtype=np.float32))
    store.record_result(
        RunResult(
            run_id=done.run_id,
            job_id=job.job_id,
            device=emulated_device_info(0),
            compute_unit=done.compute_unit,
            status=RunStatus.PASSED,
            started_at=datetime(2026, 1, 1, tzinfo=UTC),
            finished_at=datetime(2026, 1, 1, 0, 0, 3, tzinfo=UTC),
            outputs=(OutputRef(name="y", sha256=y, dtype=DType.FLOAT32, shape=(3,)),),
        )
    )
    return job.job_id, done.run_id, root


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    job_id, _, root = _finished_job(tmp_path / "source")
    path = tmp_path / "repro.tar.gz"
    store = open_store(f"sqlite:///{root / 'pomar.sqlite3'}")
    export_bundle(store, LocalArtifactStore(root / "artifacts"), job_id, path)
    return path


def _target(tmp_path: Path) -> tuple[JobStore, LocalArtifactStore]:
    root = tmp_path / "target"
    return open_store(f"sqlite:///{root / 'pomar.sqlite3'}"), LocalArtifactStore(root / "artifacts")


def test_a_job_round_trips_into_another_store_with_its_results_and_arrays(
    bundle: Path, tmp_path: Path
) -> None:
    store, artifacts = _target(tmp_path)
    manifest, imported = import_bundle(bundle, store, artifacts)
    assert imported == 1  # the unfinished run is left out
    assert len(manifest.runs) == 2
    job = store.get_job("job-repro")
    assert job == manifest.job
    (run,) = store.list_runs("job-repro")
    assert run.status is RunStatus.PASSED
    assert run.result is not None
    assert load_array(artifacts, run.result.outputs[0].sha256).tolist() == [7.0, 7.0, 7.0]
    assert artifacts.exists(job.model.sha256)
    with pytest.raises(UsageError, match="already in this store"):
        import_bundle(bundle, store, artifacts)


def test_one_run_exports_with_its_job(tmp_path: Path) -> None:
    _, run_id, root = _finished_job(tmp_path / "source")
    store = open_store(f"sqlite:///{root / 'pomar.sqlite3'}")
    path = tmp_path / "run.tar.gz"
    manifest = export_bundle(store, LocalArtifactStore(root / "artifacts"), run_id, path)
    assert [r.run_id for r in manifest.runs] == [run_id]
    with pytest.raises(UsageError, match="no job or run 'nope'"):
        export_bundle(store, LocalArtifactStore(root / "artifacts"), "nope", tmp_path / "x.tgz")


def _members(path: Path) -> Members:
    with tarfile.open(path) as archive:
        out: Members = {}
        for m in archive.getmembers():
            f = archive.extractfile(m)
            out[m.name] = (m, f.read() if f else b"")
        return out


def _write(path: Path, members: Members, extra: list[tuple[tarfile.TarInfo, bytes]] = []) -> Path:  # noqa: B006
    with tarfile.open(path, "w:gz") as archive:
        for info, data in [*members.values(), *extra]:
            archive.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return path


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _escape(m: Members) -> list[tuple[tarfile.TarInfo, bytes]]:
    return [_file("pomar-repro/../../etc/cron.d/evil", b"* * * * * root sh")]


def _absolute(m: Members) -> list[tuple[tarfile.TarInfo, bytes]]:
    return [_file("/tmp/evil", b"x")]


def _symlink(m: Members) -> list[tuple[tarfile.TarInfo, bytes]]:
    link = tarfile.TarInfo(ARTIFACTS + "f" * 64)
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return [(link, b"")]


def _tampered(m: Members) -> list[tuple[tarfile.TarInfo, bytes]]:
    name = next(n for n in m if n.startswith(ARTIFACTS))
    _info, data = m.pop(name)
    return [_file(name, b"X" + data[1:])]


def _missing(m: Members) -> list[tuple[tarfile.TarInfo, bytes]]:
    m.pop(next(n for n in m if n.startswith(ARTIFACTS)))
    return []


def _unlisted(m: Members) -> list[tuple[tarfile.TarInfo, bytes]]:
    import hashlib

    data = b"not in the manifest"
    return [_file(ARTIFACTS + hashlib.sha256(data).hexdigest(), data)]


def _bad_manifest(m: Members) -> list[tuple[tarfile.TarInfo, bytes]]:
    m.pop(MANIFEST)
    return [_file(MANIFEST, b'{"format": "pomar-repro", "version": 2}')]


def _unexpected(m: Members) -> list[tuple[tarfile.TarInfo, bytes]]:
    return [_file("pomar-repro/README.sh", b"rm -rf ~")]


@pytest.mark.parametrize(
    ("mutate", "says"),
    [
        (_escape, "escapes the bundle"),
        (_absolute, "escapes the bundle"),
        (_symlink, "is not a regular file"),
        (_tampered, "does not hash to its name"),
        (_missing, "but the archive lacks it"),
        (_unlisted, "is not in the manifest"),
        (_bad_manifest, "manifest"),
        (_unexpected, "unexpected member"),
    ],
)
def test_a_hostile_or_broken_archive_is_refused_and_nothing_is_imported(
    bundle: Path,
    tmp_path: Path,
    mutate: Callable[[Members], list[tuple[tarfile.TarInfo, bytes]]],
    says: str,
) -> None:
    members = _members(bundle)
    extra = mutate(members)
    hostile = _write(tmp_path / "hostile.tar.gz", members, extra)
    store, artifacts = _target(tmp_path)
    with pytest.raises(UsageError, match="is not a usable Pomar repro bundle") as caught:
        import_bundle(hostile, store, artifacts)
    assert says in caught.value.message
    assert store.list_jobs() == []
    assert not (tmp_path / "target" / "artifacts").exists() or not any(
        (tmp_path / "target" / "artifacts").rglob("*")
    )
    assert not (tmp_path / "etc").exists()


def test_oversized_members_and_too_many_members_are_refused(bundle: Path, tmp_path: Path) -> None:
    store, artifacts = _target(tmp_path)
    with pytest.raises(UsageError, match="over the 16-byte limit"):
        import_bundle(bundle, store, artifacts, BundleLimits(max_member_bytes=16))
    with pytest.raises(UsageError, match="more than 2 members"):
        import_bundle(bundle, store, artifacts, BundleLimits(max_members=2))
    with pytest.raises(UsageError, match="members add up to more than"):
        import_bundle(bundle, store, artifacts, BundleLimits(max_total_bytes=100))


def test_a_file_that_is_not_a_bundle_says_so(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"\x1f\x8b not really gzip")
    store, artifacts = _target(tmp_path)
    with pytest.raises(UsageError, match=r"cannot read it as a \.tar\.gz"):
        import_bundle(junk, store, artifacts)
    with pytest.raises(UsageError, match="no bundle at"):
        import_bundle(tmp_path / "absent.tar.gz", store, artifacts)
