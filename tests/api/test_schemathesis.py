"""A bounded schemathesis run against the whole API (SQLite, and PostgreSQL when it answers).

Stateless: every operation of the OpenAPI document gets its explicit examples and generated
cases, valid and invalid. Stateful: workflows that follow the links schemathesis infers between
operations (a created dispatch's id into its events, a restock run's into its approval, ...).
Both send in-process with an admin key and fail on a 5xx, a status code the document does not
list, a content type it does not declare, or a body or header that does not match the declared
schema. The number of cases is fixed (:data:`MAX_EXAMPLES`, :data:`WORKFLOWS` x
:data:`STEPS`) and generation is derandomized, so the run is bounded and the same each time.
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.limits import Limits

MAX_EXAMPLES = 30
"""Stateless cases per operation (and per database)."""
WORKFLOWS, STEPS = 15, 8
"""Stateful scenarios per database and the most steps in one."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
BOUNDED = settings(deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


@pytest.fixture
def fuzzed(api, tmp_path):
    """(schema, headers) of a fresh app on the test database. No rate limits: the run sends far
    more than a caller may (the body size stays limited); restock outputs under ``tmp_path``."""
    app = create_app(context=api.ctx, limits=Limits(per_key=None, per_address=None,
                                                    auth_failures=None))
    app.state.restock_dir = tmp_path / "runs"
    with TestClient(app, raise_server_exceptions=False):  # runs the lifespan
        yield (schemathesis.openapi.from_asgi("/openapi.json", app),
               {"Authorization": f"Bearer {api.keys['admin']}"})


def _fuzz(operation, headers: dict[str, str]) -> None:
    """Send ``MAX_EXAMPLES`` cases of ``operation`` (its examples among them) and check each."""
    strategies = [*operation.get_strategies_from_examples(),
                  operation.as_strategy(GenerationMode.POSITIVE),
                  operation.as_strategy(GenerationMode.NEGATIVE)]

    @given(case=st.one_of(strategies))
    @settings(BOUNDED, max_examples=MAX_EXAMPLES, phases=[Phase.generate])
    def run(case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


@pytest.mark.slow
def test_every_operation_answers_without_server_error_and_as_documented(fuzzed):
    schema, headers = fuzzed
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    failures = []
    for operation in operations:  # every operation runs; the failures are reported together
        try:
            _fuzz(operation, headers)
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
def test_linked_workflows_answer_without_server_error_and_as_documented(fuzzed):
    schema, headers = fuzzed
    workflow = schema.as_state_machine()

    class Checked(workflow):  # type: ignore[misc,valid-type]
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Checked.run(settings=settings(BOUNDED, max_examples=WORKFLOWS, stateful_step_count=STEPS))
