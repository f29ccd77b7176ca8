"""Attaching a localisation to a finished run, on every JobStore (the contract's fixture)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from orchestrator.store import JobStore
from pomar_core.wire import Localisation, LocalisationStatus, RunStatus
from tests.factories import job_spec, run_spec
from tests.orchestrator.stores.test_job_store_contract import _result, store

__all__ = ["store"]


def _localisation(run_id: str, status: LocalisationStatus) -> Localisation:
    return Localisation(
        run_id=run_id,
        status=status,
        max_runs=12,
        ops=10,
        cuts=8,
        lo=-1,
        hi=7,
        started_at=datetime.now(UTC),
    )


def test_a_localisation_is_attached_to_a_finished_run_and_nothing_else_changes(
    store: JobStore,
) -> None:
    job = job_spec(uuid.uuid4().hex)
    spec = run_spec(job, 1)
    store.add_job(job, [(spec, "q")])
    assert not store.attach_localisation(
        spec.run_id, _localisation(spec.run_id, LocalisationStatus.RUNNING)
    )
    failed = _result(spec, RunStatus.PARITY_FAILED)
    assert store.record_result(failed)

    for status in (LocalisationStatus.RUNNING, LocalisationStatus.FOUND):
        assert store.attach_localisation(spec.run_id, _localisation(spec.run_id, status))

    record = store.get_run(spec.run_id)
    assert record is not None
    assert record.result is not None
    assert record.status is RunStatus.PARITY_FAILED
    assert record.result.localisation is not None
    assert record.result.localisation.status is LocalisationStatus.FOUND
    assert record.result.model_copy(update={"localisation": None}) == failed
    assert not store.attach_localisation(
        "no-such-run", _localisation("x", LocalisationStatus.FOUND)
    )
