"""Turn a :class:`SubmitRequest` into a prepared job: the uploaded model and inputs are
materialised in a scratch directory and go through the same :func:`prepare_job` as
``pomar check``, so a job from the API is the job the CLI would have made."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path, PurePosixPath

from orchestrator.check_job import CheckRequest, PreparedJob, prepare_job
from orchestrator.server.schemas import SubmitRequest
from orchestrator.server.uploads import check_inputs, check_package_archive, extract_package
from pomar_core.artifacts import ArtifactStore
from pomar_core.errors import InputsError, ModelError, PomarError


def check_request(request: SubmitRequest, artifacts: ArtifactStore) -> None:
    """Refuse, before anything is queued, a request whose uploads are missing or are not what
    they claim to be (``ModelError``/``InputsError``, HTTP 422 naming the field)."""
    if not artifacts.exists(request.model.sha256):
        raise ModelError(
            f"model {request.model.sha256[:12]} was never uploaded",
            hint="upload it first (PUT /api/v1/blobs/{sha256})",
        )
    if request.model.packing == "mlpackage":
        check_package_archive(artifacts.local_path(request.model.sha256))
    if request.inputs is not None:
        if not artifacts.exists(request.inputs):
            raise InputsError(
                f"inputs {request.inputs[:12]} were never uploaded",
                hint="upload them first (PUT /api/v1/blobs/{sha256})",
            )
        check_inputs(artifacts.local_path(request.inputs), request.inputs_name or "inputs.npz")


def prepare_submission(
    request: SubmitRequest, artifacts: ArtifactStore, cache_dir: Path, submitted_by: str
) -> PreparedJob:
    """Preflight, intake and reference for an uploaded model, as ``pomar check`` does them."""
    with tempfile.TemporaryDirectory(prefix="pomar-submission-") as tmp:
        scratch = Path(tmp)
        blob = artifacts.local_path(request.model.sha256)
        if request.model.packing == "mlpackage":
            model = scratch / "model.mlpackage"
            extract_package(blob, model)
        else:
            model = scratch / f"model{request.model.suffix}"
            shutil.copyfile(blob, model)
        inputs = None
        if request.inputs is not None:
            # Named as the user knows it: messages about the inputs name that file.
            shown = PurePosixPath(request.inputs_name or "inputs.npz").name
            inputs = scratch / (shown if shown.endswith(".npz") else "inputs.npz")
            shutil.copyfile(artifacts.local_path(request.inputs), inputs)
        try:
            prepared = _prepare(request, model, inputs, artifacts, cache_dir)
        except PomarError as exc:
            # The scratch paths mean nothing to the submitter: name the files as they do.
            exc.message = exc.message.replace(str(model), request.model.name)
            if inputs is not None:
                exc.message = exc.message.replace(str(inputs), request.inputs_name or "inputs.npz")
            raise
    job = prepared.job
    named = job.model_copy(
        update={
            "model": job.model.model_copy(update={"name": request.model.name}),
            "inputs": job.inputs.model_copy(update={"source_name": request.inputs_name})
            if request.inputs is not None
            else job.inputs,
            "priority": request.priority,
            "submitted_by": submitted_by,
        }
    )
    return PreparedJob(named, prepared.intake, prepared.reference, prepared.preflight)


def _prepare(
    request: SubmitRequest,
    model: Path,
    inputs: Path | None,
    artifacts: ArtifactStore,
    cache_dir: Path,
) -> PreparedJob:
    return prepare_job(
        CheckRequest(
            model=str(model),
            conversion=request.conversion,
            config=request.config,
            inputs_path=inputs,
            seed=request.seed,
            target=request.target,
            label=request.label,
            iphone_product_types=request.iphone_product_types,
        ),
        artifacts,
        cache_dir,
    )
