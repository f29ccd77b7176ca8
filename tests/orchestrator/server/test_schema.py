"""schemathesis against the OpenAPI schema, a bounded number of examples per operation: no
answer is a 500, and every answer matches the schema's status codes and bodies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from orchestrator.server.app import create_app
from orchestrator.server.tokens import Scope
from orchestrator.stores.sql import SqlJobStore
from tests.orchestrator.server.conftest import make_service
from tests.orchestrator.server.seed import seed_finished_job

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

TOKEN: dict[str, str] = {}
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
"""What the answers must satisfy. Not ``positive_data_acceptance``: a schema-valid upload whose
bytes do not hash to its address, or a submission naming a blob never uploaded, must be
refused."""


@pytest.fixture(scope="module")
def api_schema(
    pg_url: str, broker: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[schemathesis.BaseSchema]:
    store = SqlJobStore(pg_url)
    service = make_service(store, broker, tmp_path_factory.mktemp("schema"), upload_limit=1 << 16)
    TOKEN["value"], _ = service.tokens.create("schemathesis", (Scope.ADMIN,))
    seed_finished_job(store, "schema")
    app = create_app(service)
    service.start()
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    service.stop()
    store.close()


def test_no_operation_answers_500(api_schema: schemathesis.BaseSchema) -> None:
    # Hypothesis drives each operation directly: schemathesis' own pytest plugin does not
    # support this pytest yet.
    headers = {"Authorization": f"Bearer {TOKEN['value']}"}
    failures: list[str] = []
    calls: list[int] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            calls.append(1)
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            try:
                case.validate_response(response, checks=CHECKS)
            except Exception as exc:  # schemathesis groups its findings in one exception
                failures.append(f"{case.method} {case.formatted_path}: {exc}"[:400])

        check()
    assert failures == []
    assert len(calls) > 3 * len(operations)
