"""Property-based fuzzing of the JSON API from its own OpenAPI description (schemathesis).

Every operation that ``/api/v1/openapi.json`` describes (so also routes added later) is called
with generated valid and invalid parameters and bodies, with the bearer token of a seeded
organisation and without any credentials. No answer may be a server error (5xx), and every
answer must be documented: its status code, content type, headers and body schema (errors in
the one shape ``{"error": {"code", "message", "fields"?}}``).

The number of examples is bounded (:data:`EXAMPLE_BUDGET` over all operations) so that the test
stays well under a minute.
"""

from __future__ import annotations

import traceback
from typing import Annotated, Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from signaal.chain import accounts, api_tokens
from signaal.chain.authz import Action
from signaal.store.db import transaction
from signaal.store.models import OrganisationKind
from signaal.web.app import WebState
from signaal.web.context import RequestContext, chain_resource, guard

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLE_BUDGET = 320  # requests over all operations, modes and callers
MIN_EXAMPLES = 4


@pytest.fixture
def token(state: WebState) -> str:
    """A bearer token of a care coordination organisation with the care coordinator's role
    (the widest reading role), so that the guard lets most operations through to the handler."""
    with transaction(state.sessions) as session:
        organisation = accounts.create_organisation(
            session, name="Fuzz Zorgcoördinatie", kind=OrganisationKind.CARE_COORDINATION
        )
        created = api_tokens.create_token(
            session, organisation=organisation, name="fuzz", role="care_coordinator"
        )
        return created.secret


def _fuzzer(strategy: Any, headers: dict[str, str], examples: int) -> Any:
    """A hypothesis test calling the operation with ``headers`` and checking each answer."""

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    return run


def test_every_answer_of_the_api_is_documented_and_none_is_a_server_error(
    app: FastAPI, token: str
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the API description lists no operation"
    runs = [
        (operation, mode, headers)
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        for headers in ({"Authorization": f"Bearer {token}"}, {})
    ]
    examples = max(MIN_EXAMPLES, EXAMPLE_BUDGET // len(runs))
    failures: list[str] = []
    for operation, mode, headers in runs:
        run = _fuzzer(operation.as_strategy(generation_mode=mode), headers, examples)
        try:
            run()
        except Exception as exc:  # collect every operation's failure, not only the first
            who = "bearer" if headers else "anonymous"
            failures.append(f"{operation.label} [{mode.value}, {who}]: {exc}")
    assert not failures, "\n\n".join(failures)


def test_the_description_documents_errors_and_security(client: Any) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    description = response.json()
    assert set(description["components"]["securitySchemes"]) == {"bearer", "session"}
    error = description["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["properties"]) == {"code", "message", "fields"}
    paths = description["paths"]
    assert all(path.startswith("/api/v1/") for path in paths)
    for path, operations in paths.items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"422", "500"} <= statuses, (method, path)
            public = path == "/api/v1/openapi.json"
            assert bool(operation["security"]) is not public, (method, path)
            if not public:
                assert {"401", "403"} <= statuses, (method, path)
            if "{" in path:
                assert "404" in statuses, (method, path)
            if method in {"post", "put", "patch", "delete"}:
                assert {"413", "415"} <= statuses, (method, path)
            for status, answer in operation["responses"].items():
                if int(status) >= 400:
                    ref = answer["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error"


def test_the_description_follows_the_routes_generically(app: FastAPI, client: Any) -> None:
    """A route added to the app (as the other parts of the API are) is described with its
    errors without any change to the description's code."""

    @app.delete("/api/v1/test-records/{signal_id}")
    def remove(
        ctx: Annotated[
            RequestContext, guard(Action.CREATE_SIGNALS, chain_resource("signal", "signal_id"))
        ],
        signal_id: int,
    ) -> dict[str, str]:
        return {}

    description = client.get("/api/v1/openapi.json").json()
    operation = description["paths"]["/api/v1/test-records/{signal_id}"]["delete"]
    assert {"401", "403", "404", "409", "413", "415", "422", "500"} <= set(operation["responses"])


def test_the_fuzzer_reports_a_server_error(app: FastAPI, token: str) -> None:
    """The checks bite: an operation that fails on the server is reported."""

    @app.get("/api/v1/test-broken")
    def broken(ctx: Annotated[RequestContext, guard(Action.VIEW_SIGNALS)]) -> dict[str, str]:
        raise RuntimeError("broken on purpose")

    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operation = next(
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path == "/api/v1/test-broken"
    )
    run = _fuzzer(operation.as_strategy(), {"Authorization": f"Bearer {token}"}, MIN_EXAMPLES)
    with pytest.raises(FailureGroup) as caught:
        run()
    assert "Server error" in "".join(traceback.format_exception(caught.value))
