"""The manifest of a repro bundle and the limits a reader holds it to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from orchestrator.store import RunRecord
from pomar_core.wire import JobSpec
from pomar_core.wire.base import WireModel

ROOT = "pomar-repro"
MANIFEST = f"{ROOT}/manifest.json"
ARTIFACTS = f"{ROOT}/artifacts/"


class ReproManifest(WireModel):
    format: Literal["pomar-repro"] = "pomar-repro"
    version: Literal[1] = 1
    created_at: datetime
    pomar_version: str | None = None
    job: JobSpec
    runs: tuple[RunRecord, ...]
    artifacts: dict[str, int]
    """sha256 → size in bytes of every artifact in the archive."""

    def required(self) -> set[str]:
        """The artifacts the job and its runs name: the archive must hold each."""
        job = self.job
        shas = {job.model.sha256, job.inputs.sha256}
        for ref in (job.reference, job.desktop_fp16):
            if ref is not None:
                shas.add(ref.sha256)
        for run in self.runs:
            if run.result is not None:
                shas.update(o.sha256 for o in run.result.outputs)
        return shas


@dataclass(frozen=True)
class BundleLimits:
    """What a reader accepts; generous for real models, small enough to stop a bomb."""

    max_members: int = 10_000
    max_member_bytes: int = 4 * 1024**3
    max_total_bytes: int = 16 * 1024**3
    max_manifest_bytes: int = 64 * 1024**2


DEFAULT_LIMITS = BundleLimits()
