"""One JSON error shape in the API, friendly pages in the app, never a stack trace."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi.routing import APIRoute

from signaal.chain.authz import Action
from signaal.web.context import RequestContext, guard


def assert_error_shape(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert isinstance(body["error"]["code"], str)
    assert body["error"]["code"]
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
def failing_app(app):  # type: ignore[no-untyped-def]
    """The app plus two guarded routes that fail unexpectedly (an API one and a page)."""

    def explode(ctx: Annotated[RequestContext, guard(Action.PUBLIC_VIEW)]) -> None:
        raise RuntimeError("secret internal detail")

    app.router.routes.append(APIRoute("/api/v1/ontploffing", explode, methods=["GET"]))
    app.router.routes.append(APIRoute("/ontploffing", explode, methods=["GET"]))
    return app


def test_every_api_error_has_the_same_shape(client, failing_app, accounts_by_role, sign_in):
    codes = {}
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    codes[401] = assert_error_shape(response)["code"]
    response = client.get("/api/v1/bestaat-niet")
    assert response.status_code == 404
    codes[404] = assert_error_shape(response)["code"]
    response = client.get("/api/v1/ontploffing")
    assert response.status_code == 500
    error = assert_error_shape(response)
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    codes[500] = error["code"]

    sign_in(accounts_by_role["administrator"])
    response = client.post("/api/v1/me", headers={"X-CSRF-Token": "x"})
    assert response.status_code in (403, 405)
    assert_error_shape(response)
    response = client.get("/api/v1/analysis/networks")
    assert response.status_code == 403
    codes[403] = assert_error_shape(response)["code"]

    sign_in(accounts_by_role["analyst"])
    response = client.get("/api/v1/analysis/networks?limit=not-a-number")
    assert response.status_code == 422
    codes[422] = assert_error_shape(response)["code"]
    response = client.get("/api/v1/analysis/networks?limit=100000")
    assert response.status_code == 422
    assert_error_shape(response)
    assert codes == {
        401: "unauthenticated",
        404: "not_found",
        500: "internal",
        403: "forbidden",
        422: "invalid_input",
    }


def test_method_not_allowed_in_the_api(client, accounts_by_role, sign_in):
    sign_in(accounts_by_role["analyst"])
    response = client.delete("/api/v1/me")
    assert response.status_code == 405
    assert assert_error_shape(response)["code"] == "method_not_allowed"


def test_friendly_error_pages_without_stack_traces(client, failing_app, accounts_by_role, sign_in):
    response = client.get("/bestaat-niet")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Pagina niet gevonden" in response.text
    assert '<html lang="nl">' in response.text

    response = client.get("/ontploffing")
    assert response.status_code == 500
    assert "Er ging iets mis" in response.text
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    # Error pages carry the security headers too.
    assert "content-security-policy" in response.headers

    sign_in(accounts_by_role["viewer"])
    response = client.get("/beheer/gebruikers")
    assert response.status_code == 403
    assert "Geen toegang" in response.text
    assert "Test viewer" in response.text  # the header still shows who is logged in


def test_html_validation_error_page(client, accounts_by_role, sign_in):
    sign_in(accounts_by_role["analyst"])
    response = client.get("/analyse?zoek=" + "x" * 500)
    assert response.status_code == 422
    assert "Controleer je invoer" in response.text
    assert "zoek" in response.text
