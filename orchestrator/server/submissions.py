"""Submissions: a job on its way in. The server answers at once (``preparing``) and prepares
the job in the background (preflight, intake, the desktop reference), then queues its runs.

An idempotency key names one submission per token: the same request sent again (a client
retry after a timeout) gets the same submission, so one job; the same key with a different
request is refused.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from orchestrator.preflight import PreflightReport
from orchestrator.server.errors import IdempotencyConflict
from orchestrator.server.schemas import Submission, SubmissionState, SubmitRequest
from orchestrator.server.tables import SubmissionRow


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _submission(row: SubmissionRow) -> Submission:
    return Submission(
        submission_id=row.submission_id,
        state=SubmissionState(row.state),
        job_id=row.job_id,
        error=row.error,
        exit_code=row.exit_code,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        preflight=PreflightReport.model_validate_json(row.preflight_json)
        if row.preflight_json
        else None,
    )


class SubmissionStore:
    """Submissions in the job store's database (table ``api_submissions``)."""

    def __init__(self, engine: Engine) -> None:
        self._session = sessionmaker(engine, expire_on_commit=False)

    def create(
        self, token_id: str, key: str | None, request: SubmitRequest
    ) -> tuple[Submission, bool]:
        """The new submission, or the one ``key`` already names; True when it is new."""
        body = request.model_dump_json()
        now = datetime.now(UTC)
        row = SubmissionRow(
            submission_id=f"sub-{uuid.uuid4().hex[:16]}",
            token_id=token_id,
            idempotency_key=key,
            state=SubmissionState.PREPARING.value,
            request_json=body,
            created_at=now,
            updated_at=now,
        )
        try:
            with self._session.begin() as s:
                s.add(row)
            return _submission(row), True
        except IntegrityError:
            if key is None:
                raise
        with self._session() as s:
            found = s.scalars(
                select(SubmissionRow).where(
                    SubmissionRow.token_id == token_id, SubmissionRow.idempotency_key == key
                )
            ).one()
        if found.request_json != body:
            raise IdempotencyConflict(
                f"idempotency key {key!r} was used for a different request",
                hint="use a new Idempotency-Key for a new job",
            )
        return _submission(found), False

    def get(self, submission_id: str) -> Submission | None:
        with self._session() as s:
            row = s.get(SubmissionRow, submission_id)
            return _submission(row) if row else None

    def request_of(self, submission_id: str) -> SubmitRequest:
        with self._session() as s:
            row = s.get(SubmissionRow, submission_id)
            assert row is not None
            return SubmitRequest.model_validate_json(row.request_json)

    def submitted(self, submission_id: str, job_id: str, preflight: PreflightReport | None) -> None:
        self._set(
            submission_id,
            state=SubmissionState.SUBMITTED.value,
            job_id=job_id,
            preflight_json=preflight.model_dump_json() if preflight else None,
        )

    def failed(self, submission_id: str, error: str, exit_code: int) -> None:
        self._set(
            submission_id, state=SubmissionState.FAILED.value, error=error, exit_code=exit_code
        )

    def abandon_preparing(self) -> int:
        """Fail submissions a previous server process was preparing when it stopped."""
        with self._session.begin() as s:
            done = s.execute(
                update(SubmissionRow)
                .where(SubmissionRow.state == SubmissionState.PREPARING.value)
                .values(
                    state=SubmissionState.FAILED.value,
                    error="the server restarted while preparing this job: submit it again",
                    exit_code=3,
                    updated_at=datetime.now(UTC),
                )
            )
            return int(done.rowcount or 0)  # type: ignore[attr-defined]

    def _set(self, submission_id: str, **values: object) -> None:
        with self._session.begin() as s:
            s.execute(
                update(SubmissionRow)
                .where(SubmissionRow.submission_id == submission_id)
                .values(updated_at=datetime.now(UTC), **values)
            )
