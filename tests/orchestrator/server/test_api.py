"""The HTTP API against real PostgreSQL and Redis: tokens and scopes, uploads by content hash
and every bad input the issue names, idempotent submission, results, events, 404s."""

from __future__ import annotations

import json
import logging
import pickle
import time
from pathlib import Path

import numpy as np
import pytest

from orchestrator.reports import stored_job
from orchestrator.server.tokens import Scope
from pomar.client import PomarClient, RemoteError
from pomar_core.wire import DeviceSelector, RunStatus
from tests.factories import job_spec, run_spec
from tests.orchestrator.server.conftest import Served
from tests.orchestrator.server.models import evil_archive, npz_bytes, packed, sha, tiny_package

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def _wait(what: str, predicate, timeout_s: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _put(served: Served, data: bytes, headers: dict[str, str], kind: str | None = None):  # type: ignore[no-untyped-def]
    return served.http.put(
        f"/api/v1/blobs/{sha(data)}",
        content=data,
        params={"kind": kind} if kind else None,
        headers=headers,
    )


def _submit_body(model_sha: str, **extra: object) -> dict[str, object]:
    return {
        "model": {"sha256": model_sha, "packing": "mlpackage", "name": "tiny.mlpackage"},
        "config": {"compute_units": ["cpu"], "warmup": 0, "iterations": 1},
        "target": {"pools": ["serve-test"]},
        **extra,
    }


# -- tokens ------------------------------------------------------------------------------------


def test_a_request_without_a_token_is_401(served: Served) -> None:
    answer = served.http.get("/api/v1/jobs")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "token" in answer.json()["detail"]


def test_an_unknown_or_malformed_token_is_401(served: Served) -> None:
    for token in ("pomar_000000000000_nope", "not-a-pomar-token"):
        answer = served.http.get("/api/v1/jobs", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, token


def test_a_revoked_token_is_401(served: Served) -> None:
    plain, token = served.service.tokens.create("leaver", (Scope.READ,))
    headers = {"Authorization": f"Bearer {plain}"}
    assert served.http.get("/api/v1/jobs", headers=headers).status_code == 200
    served.service.tokens.revoke(token.token_id)
    assert served.http.get("/api/v1/jobs", headers=headers).status_code == 401


def test_a_token_without_the_scope_is_403_and_scopes_nest(served: Served) -> None:
    read = served.headers(Scope.READ)
    answer = served.http.post("/api/v1/blobs/missing", json={"sha256": []}, headers=read)
    assert answer.status_code == 403
    assert "'submit' scope" in answer.json()["detail"]
    assert (
        served.http.get("/api/v1/tokens", headers=served.headers(Scope.SUBMIT)).status_code == 403
    )
    admin = served.headers(Scope.ADMIN)
    assert served.http.get("/api/v1/tokens", headers=admin).status_code == 200
    assert (
        served.http.post("/api/v1/blobs/missing", json={"sha256": []}, headers=admin).status_code
        == 200
    )


def test_tokens_are_stored_as_digests_and_never_logged(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    plain = served.token(Scope.SUBMIT)
    with caplog.at_level(logging.DEBUG):
        headers = {"Authorization": f"Bearer {plain}"}
        served.http.get("/api/v1/jobs", headers=headers)
        served.http.get("/api/v1/jobs/job-nope", headers=headers)
        served.http.post("/login", data={"token": plain, "next": "/"}, follow_redirects=False)
    assert all(plain not in r.getMessage() for r in caplog.records)
    with served.store.engine.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("SELECT digest, name FROM api_tokens")).all()
    assert all(plain not in " ".join(map(str, row)) for row in rows)


def test_log_lines_shaped_like_a_token_are_redacted() -> None:
    from orchestrator.server.serve import RedactTokens

    record = logging.LogRecord(
        "x", logging.INFO, "", 0, "got %s", ("pomar_0123456789ab_SECRET",), None
    )
    RedactTokens().filter(record)
    assert "SECRET" not in record.getMessage()


# -- uploads -----------------------------------------------------------------------------------


def test_bytes_that_do_not_match_their_sha256_are_refused(served: Served) -> None:
    headers = served.headers(Scope.SUBMIT)
    answer = served.http.put(f"/api/v1/blobs/{'a' * 64}", content=b"hello", headers=headers)
    assert answer.status_code == 422
    assert answer.json()["field"] == "sha256"
    assert not served.service.artifacts.exists("a" * 64)


def test_an_upload_over_the_limit_is_413(served: Served) -> None:
    data = b"\0" * ((1 << 20) + 10)
    answer = _put(served, data, served.headers(Scope.SUBMIT))
    assert answer.status_code == 413
    assert "limit" in answer.json()["detail"]
    assert not served.service.artifacts.exists(sha(data))


@pytest.mark.parametrize(
    ("entry", "symlink"),
    [("../../etc/cron.d/x", False), ("/etc/passwd", False), ("Data/link", True), ("bomb", None)],
    ids=["dotdot", "absolute", "symlink", "compressed"],
)
def test_a_model_archive_escaping_its_root_is_refused(
    served: Served, entry: str, symlink: bool | None
) -> None:
    data = evil_archive(entry, symlink=bool(symlink), deflate=symlink is None)
    headers = served.headers(Scope.SUBMIT)
    answer = _put(served, data, headers, kind="mlpackage")
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "model"
    assert not served.service.artifacts.exists(sha(data))
    # Stored without a kind, it is still refused when a job names it as its model.
    assert _put(served, data, headers).status_code == 201
    answer = served.http.post("/api/v1/submissions", json=_submit_body(sha(data)), headers=headers)
    assert answer.status_code == 422
    assert answer.json()["field"] == "model"


def test_pickled_and_truncated_inputs_are_refused(served: Served, tmp_path: Path) -> None:
    headers = served.headers(Scope.SUBMIT)
    pickled = pickle.dumps({"x": np.zeros(3)})
    truncated = npz_bytes(x=np.zeros((4, 4), np.float32))[:-30]
    object_array = npz_bytes(x=np.array([{"a": 1}], dtype=object))
    for data, word in ((pickled, "pickle"), (truncated, "not an .npz"), (object_array, "pickled")):
        answer = _put(served, data, headers, kind="npz")
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "inputs"
        assert word in answer.json()["detail"]
    package = packed(tiny_package(tmp_path), tmp_path)
    assert _put(served, package, headers).status_code == 201
    assert _put(served, pickled, headers).status_code == 201
    answer = served.http.post(
        "/api/v1/submissions", json=_submit_body(sha(package), inputs=sha(pickled)), headers=headers
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "inputs"


def test_a_cached_model_moves_zero_bytes(served: Served, tmp_path: Path) -> None:
    client = PomarClient("http://testserver", served.token(Scope.SUBMIT), http=served.http)
    package = tiny_package(tmp_path)
    first = client.upload_model(package)
    archive = tmp_path / "again.zip"
    archive.write_bytes(packed(package, tmp_path))
    assert client.missing([first.sha256]) == []
    assert client.upload_file(archive) == (first.sha256, False)


# -- malformed requests and unknown ids ---------------------------------------------------------


def test_malformed_json_is_422_naming_the_field(served: Served) -> None:
    headers = {**served.headers(Scope.SUBMIT), "Content-Type": "application/json"}
    answer = served.http.post("/api/v1/submissions", content=b"{not json", headers=headers)
    assert answer.status_code == 422
    assert answer.json()["field"] == "body"
    answer = served.http.post(
        "/api/v1/submissions",
        json={"model": {"sha256": "xyz", "packing": "mlpackage", "name": "m"}},
        headers=headers,
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "model.sha256"
    answer = served.http.post(
        "/api/v1/submissions", json={**_submit_body("a" * 64), "colour": "red"}, headers=headers
    )
    assert answer.status_code == 422
    assert answer.json()["field"] == "colour"


def test_unknown_ids_are_404(served: Served) -> None:
    headers = served.headers(Scope.SUBMIT)
    for method, path in (
        ("GET", "/api/v1/jobs/job-nope"),
        ("GET", "/api/v1/jobs/job-nope/runs"),
        ("GET", "/api/v1/jobs/job-nope/results"),
        ("GET", "/api/v1/jobs/job-nope/events"),
        ("GET", "/api/v1/jobs/job-nope/report.html"),
        ("POST", "/api/v1/jobs/job-nope/cancel"),
        ("GET", "/api/v1/submissions/sub-nope"),
        ("GET", f"/api/v1/blobs/{'d' * 64}"),
    ):
        answer = served.http.request(method, path, headers=headers)
        assert answer.status_code == 404, (path, answer.text)
        assert "no " in answer.json()["detail"]
    answer = served.http.post("/api/v1/tokens/nope/revoke", headers=served.headers(Scope.ADMIN))
    assert answer.status_code == 404


# -- submitting ---------------------------------------------------------------------------------


def test_a_submission_is_prepared_and_queued_once_per_idempotency_key(
    served: Served, tmp_path: Path
) -> None:
    client = PomarClient(
        "http://testserver", served.token(Scope.SUBMIT, name="ci"), http=served.http
    )
    model = client.upload_model(tiny_package(tmp_path), name="models/tiny.mlpackage")
    from orchestrator.server.schemas import SubmitRequest

    label = f"idem-{time.monotonic_ns()}"
    request = SubmitRequest.model_validate(
        {**_submit_body(model.sha256), "model": model.model_dump(), "label": label, "priority": 7}
    )
    first = client.submit(request, idempotency_key=label)
    again = client.submit(request, idempotency_key=label)
    assert again.submission_id == first.submission_id
    done = client.wait_submitted(first.submission_id, timeout_s=180)
    assert done.job_id is not None
    assert done.runs
    assert [j.job_id for j in client.jobs(label=label)] == [done.job_id]
    job = served.store.get_job(done.job_id)
    assert (job.model.name, job.priority, job.submitted_by) == ("models/tiny.mlpackage", 7, "ci")
    assert all(r.status is RunStatus.QUEUED for r in served.store.list_runs(done.job_id))
    with pytest.raises(RemoteError) as refused:
        client.submit(request.model_copy(update={"priority": 1}), idempotency_key=label)
    assert refused.value.status == 409


def test_a_job_that_cannot_be_prepared_fails_its_submission_with_the_cli_exit_code(
    served: Served, tmp_path: Path
) -> None:
    client = PomarClient("http://testserver", served.token(Scope.SUBMIT), http=served.http)
    model = client.upload_model(tiny_package(tmp_path))
    inputs = tmp_path / "wrong.npz"
    inputs.write_bytes(npz_bytes(nope=np.zeros(3, np.float32)))
    from orchestrator.server.schemas import SubmitRequest

    request = SubmitRequest(
        model=model,
        inputs=client.upload_inputs(inputs),
        inputs_name="data/wrong.npz",
        target=DeviceSelector(pools=("serve-test",)),
    )
    sub = client.submit(request)
    failed = _wait(
        "the submission to fail",
        lambda: (s := client.submission(sub.submission_id)).state.value == "failed" and s,
    )
    assert failed.exit_code == 2
    assert "wrong.npz" in failed.error
    assert "'input'" in failed.error
    assert "/tmp" not in failed.error


# -- reading ------------------------------------------------------------------------------------


def _finished_job(served: Served, label: str) -> str:
    from tests.orchestrator.server.seed import seed_finished_job

    return seed_finished_job(served.store, label)


def test_the_results_document_is_the_one_the_cli_writes(served: Served) -> None:
    job_id = _finished_job(served, "results")
    client = PomarClient("http://testserver", served.token(Scope.READ), http=served.http)
    served_doc = client.results(job_id).document
    local = stored_job(served.store, job_id).document
    assert served_doc.model_copy(update={"generated_at": local.generated_at}) == local
    assert {r.status for r in served_doc.results} == {RunStatus.PASSED, RunStatus.PARITY_FAILED}


def test_jobs_and_runs_are_filtered(served: Served) -> None:
    job_id = _finished_job(served, "filters")
    client = PomarClient("http://testserver", served.token(Scope.READ), http=served.http)
    assert [j.job_id for j in client.jobs(label="filters")][:1] == [job_id]
    failed = client.runs(job_id, status="parity_failed")
    assert [r.status for r in failed] == [RunStatus.PARITY_FAILED]
    assert client.jobs(label="filters", status="oom_killed") == []


def test_server_sent_events_follow_a_job_to_done(served: Served) -> None:
    job_id = _finished_job(served, "events")
    client = PomarClient("http://testserver", served.token(Scope.READ), http=served.http)
    events = list(client.events(job_id, poll_s=0.05))
    assert [name for name, _ in events] == ["runs", "done"]
    assert {r["status"] for r in events[0][1]["runs"]} == {"passed", "parity_failed"}


def test_cancel_stops_a_jobs_queued_runs(served: Served) -> None:
    job = job_spec(f"job-cancel-{time.monotonic_ns()}")
    served.store.add_job(job, [(run_spec(job, 1), "pomar.pool.nobody")])
    client = PomarClient("http://testserver", served.token(Scope.SUBMIT), http=served.http)
    assert client.cancel(job.job_id) == 1
    assert [r.status for r in client.runs(job.job_id)] == [RunStatus.CANCELLED]


def test_devices_pools_schedules_and_series(served: Served) -> None:
    job_id = _finished_job(served, "series")
    client = PomarClient("http://testserver", served.token(Scope.READ), http=served.http)
    devices = {d.udid: d for d in client.devices()}
    assert devices["seed-phone-1"].state == "lost"
    assert {p.pool for p in client.pools()} >= {"iPhone15,2"}
    assert isinstance(client.schedules(), list)
    job = served.store.get_job(job_id)
    series = client.series(job.model.name, "iPhone15,2", "cpu")
    assert job_id in {p.job_id for p in series.points}
    assert json.loads(served.http.get("/openapi.json").text)["info"]["title"] == "Pomar"
