"""The match service's API on loopback: tokens, purposes, hostile input and the rate limit."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from signaal.cli import app as cli
from signaal.match_service import service
from signaal.match_service.store import Deployment, HourlyUsage, Record
from signaal.match_service.wire import FILTER_BYTES, record_out
from signaal.privacy.matching import Matcher, Person
from signaal.store.db import transaction
from signaal.store.models import OrganisationKind, RemoteMatchRecord

from .conftest import (
    NOW,
    PURPOSE,
    SANNE,
    SHARED_SECRET,
    InstallationFactory,
    RunningService,
    start_service,
)

MATCHER = Matcher(SHARED_SECRET, PURPOSE)


def _record(reference: str = "r1", person: Person = SANNE) -> dict[str, object]:
    return record_out(reference, MATCHER.encode(person))


def _post(
    service_: RunningService, token: str | None, body: object, path: str = "/v1/records"
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{service_.url}{path}", json=body, headers=headers, timeout=10)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer sms_wrong", "Basic c21zX3dyb25nOg==", "bearer" + " x" * 200],
)
def test_a_request_without_a_valid_token_is_refused(
    match_service: RunningService, authorization: str | None
) -> None:
    match_service.register("A", "a", [PURPOSE])
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.post(
        f"{match_service.url}/v1/records",
        json={"purpose": PURPOSE, "records": [_record()]},
        headers=headers,
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "unauthenticated",
        "message": "a valid bearer token of a registered deployment is required",
    }
    assert response.headers["www-authenticate"] == "Bearer"
    with transaction(match_service.sessions) as db:
        assert db.scalars(select(Record)).all() == []


def test_a_revoked_deployment_is_refused_and_its_records_are_gone(
    match_service: RunningService,
) -> None:
    a = match_service.register("A", "a", [PURPOSE])
    b = match_service.register("B", "b", [PURPOSE])
    assert _post(match_service, a, {"purpose": PURPOSE, "records": [_record()]}).status_code == 200
    assert _post(match_service, b, {"purpose": PURPOSE, "records": [_record()]}).json()["hits"] == [
        {"reference": "r1", "organisation": "A", "contact_route": "a"}
    ]
    with transaction(match_service.sessions) as db:
        assert service.revoke_deployment(db, "A", now=NOW) == 1
    refused = _post(match_service, a, {"purpose": PURPOSE, "records": [_record()]})
    assert refused.status_code == 401
    hits = httpx.get(
        f"{match_service.url}/v1/hits",
        params={"purpose": PURPOSE},
        headers={"Authorization": f"Bearer {b}"},
        timeout=10,
    )
    assert hits.json() == {"hits": [], "next": None}


def test_only_the_hash_of_a_token_is_stored(match_service: RunningService) -> None:
    token = match_service.register("A", "a", [PURPOSE])
    with transaction(match_service.sessions) as db:
        row = db.scalars(select(Deployment)).one()
    assert token.startswith("sms_")
    assert token not in row.token_hash
    assert row.token_hash == service.hash_token(token)


def test_a_purpose_the_deployment_is_not_registered_for_is_refused(
    match_service: RunningService,
) -> None:
    a = match_service.register("A", "a", [PURPOSE])
    response = _post(match_service, a, {"purpose": "youth-care", "records": [_record()]})
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "deployment 'A' is not registered for purpose 'youth-care'"
    )
    hits = httpx.get(
        f"{match_service.url}/v1/hits",
        params={"purpose": "youth-care"},
        headers={"Authorization": f"Bearer {a}"},
        timeout=10,
    )
    assert hits.status_code == 403


def _short(filter_bytes: int) -> str:
    return base64.b64encode(b"\x01" * filter_bytes).decode()


BAD_RECORDS = {
    "a filter of the wrong length": (
        {"surname": _short(12)},
        "records[1].surname",
        f"must be {FILTER_BYTES} bytes (base64), got 12",
    ),
    "a filter that is no base64": ({"phone": "not base64!"}, "records[1].phone", "not base64"),
    "an empty filter": (
        {"first_name": _short(0) or base64.b64encode(bytes(FILTER_BYTES)).decode()},
        "records[1].first_name",
        "an empty filter: send null for an unknown field",
    ),
    "a huge filter": ({"surname": "A" * 100_000}, "records[1].surname", "far longer"),
    "no birth date": ({"birth_date": None}, "records[1].birth_date", "string"),
    "no name": (
        {"first_name": None, "surname": None},
        "records[1]",
        "first_name or surname is required",
    ),
    "a bad blocking key": ({"blocks": ["xyz"]}, "records[1].blocks", "blocks[0] is not 16"),
    "too many blocking keys": (
        {"blocks": ["0123456789abcdef"] * 9},
        "records[1].blocks",
        "at most 8",
    ),
    "a reference with a slash": ({"reference": "../etc"}, "records[1].reference", "pattern"),
    "an unknown field": ({"name": "Sanne"}, "records[1].name", "Extra inputs"),
}


@pytest.mark.parametrize(
    ("change", "place", "reason"), BAD_RECORDS.values(), ids=BAD_RECORDS.keys()
)
def test_a_bad_record_is_refused_naming_the_record_the_field_and_why(
    match_service: RunningService, change: dict[str, object], place: str, reason: str
) -> None:
    a = match_service.register("A", "a", [PURPOSE])
    bad = {**_record("r2"), **change}
    response = _post(match_service, a, {"purpose": PURPOSE, "records": [_record(), bad]})
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert place in fields, fields
    assert reason in fields[place]
    with transaction(match_service.sessions) as db:
        assert db.scalars(select(Record)).all() == []  # nothing of the request is stored


def test_other_bad_requests_have_clear_errors(match_service: RunningService) -> None:
    a = match_service.register("A", "a", [PURPOSE])
    cases = [
        ({"purpose": "Not A Purpose", "records": [_record()]}, "purpose"),
        ({"purpose": PURPOSE, "records": []}, "records"),
        ({"purpose": PURPOSE, "records": [_record(), _record()]}, "records[1].reference"),
        ({"purpose": PURPOSE, "records": [_record(f"r{i}") for i in range(101)]}, "records"),
        ([1, 2, 3], "body"),
    ]
    for body, place in cases:
        response = _post(match_service, a, body)
        assert response.status_code == 422, body
        assert place in response.json()["error"]["fields"], response.json()
    garbled = httpx.post(
        f"{match_service.url}/v1/records",
        content=b"{not json",
        headers={"Authorization": f"Bearer {a}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert garbled.status_code == 422
    assert garbled.json()["error"]["code"] == "invalid_fields"


def test_an_oversized_body_is_refused_before_it_is_read(match_service: RunningService) -> None:
    a = match_service.register("A", "a", [PURPOSE])
    limit = match_service.settings.max_body_bytes
    big = b'{"purpose": "' + b"x" * (limit + 1) + b'"}'
    declared = httpx.post(
        f"{match_service.url}/v1/records",
        content=big,
        headers={"Authorization": f"Bearer {a}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert declared.status_code == 413
    assert declared.json()["error"]["code"] == "body_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body arrives chunked
        for start in range(0, len(big), 4096):
            yield big[start : start + 4096]

    streamed = httpx.post(
        f"{match_service.url}/v1/records",
        content=chunks(),
        headers={"Authorization": f"Bearer {a}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert streamed.status_code == 413


def test_a_lying_content_length_does_not_get_a_larger_body_through(
    match_service: RunningService,
) -> None:
    limit = match_service.settings.max_body_bytes
    host, port = match_service.url.removeprefix("http://").split(":")
    body = b"x" * (limit + 10)
    request = (
        b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


@pytest.fixture
def limited_service(service_store_url: str) -> Iterator[RunningService]:
    yield from start_service(service_store_url, records_per_hour=3)


def test_the_hourly_allowance_caps_submissions(limited_service: RunningService) -> None:
    """Three records an hour: a request that would pass it is refused whole, with the time to
    wait, and nothing of it is stored or counted."""
    a = limited_service.register("A", "a", [PURPOSE])
    two = {"purpose": PURPOSE, "records": [_record("r1"), _record("r2")]}
    assert _post(limited_service, a, two).status_code == 200
    refused = _post(limited_service, a, {**two, "records": [_record("r3"), _record("r4")]})
    assert refused.status_code == 429
    assert refused.json()["error"]["message"].startswith(
        "deployment 'A' has submitted 2 of its 3 records this hour; 2 more would exceed it"
    )
    assert 0 < int(refused.headers["retry-after"]) <= 3601
    assert _post(limited_service, a, {**two, "records": [_record("r3")]}).status_code == 200
    assert _post(limited_service, a, {**two, "records": [_record("r1")]}).status_code == 429
    with transaction(limited_service.sessions) as db:
        assert sorted(r.reference for r in db.scalars(select(Record))) == ["r1", "r2", "r3"]
        assert [u.records for u in db.scalars(select(HourlyUsage))] == [3]


def test_the_sync_keeps_what_the_allowance_refused_in_the_queue(
    limited_service: RunningService, installation: InstallationFactory
) -> None:
    token = limited_service.register("Politie", "0900", [PURPOSE])
    police = installation(
        "politie",
        OrganisationKind.POLICE,
        "police_officer",
        service_url=limited_service.url,
        token=token,
        secrets={PURPOSE: SHARED_SECRET},
    )
    for n in range(4):
        police.register(f"Persoon {n}", Person("Sanne", f"Berg{n}", date(1990, 3, n + 1)))
    report = police.sync()
    assert report.submitted == 0
    assert "429" in report.problems[0]
    with transaction(police.sessions) as db:
        pending = [r for r in db.scalars(select(RemoteMatchRecord)) if r.payload]
    assert len(pending) == 4


def test_hits_are_paged_by_reference(match_service: RunningService) -> None:
    a = match_service.register("A", "a", [PURPOSE])
    b = match_service.register("B", "b", [PURPOSE])
    people = [Person("Sanne", f"Berg{n}", date(1990, 3, n + 1)) for n in range(5)]
    for token in (a, b):
        body = {"purpose": PURPOSE, "records": [_record(f"r{n}", p) for n, p in enumerate(people)]}
        assert _post(match_service, token, body).status_code == 200
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, str | int] = {"purpose": PURPOSE, "limit": 2}
        if after:
            params["after"] = after
        page = httpx.get(
            f"{match_service.url}/v1/hits",
            params=params,
            headers={"Authorization": f"Bearer {a}"},
            timeout=10,
        ).json()
        seen += [h["reference"] for h in page["hits"]]
        after = page["next"]
        if not after:
            break
    assert seen == ["r0", "r1", "r2", "r3", "r4"]


def test_add_deployment_prints_the_token_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{(tmp_path / 'ms.db').as_posix()}"
    monkeypatch.setenv("SIGNAAL_MATCH_SERVICE_DATABASE_URL", url)
    runner = CliRunner()
    added = runner.invoke(
        cli,
        [
            "match-service",
            "add-deployment",
            "GGD Regio Utrecht",
            "--contact-route",
            "zorgmeldpunt@ggd.test",
            "--purpose",
            PURPOSE,
        ],
    )
    assert added.exit_code == 0, added.output
    token = added.output.strip().splitlines()[-1]
    assert token.startswith("sms_")
    listed = runner.invoke(cli, ["match-service", "deployments"])
    assert (
        "GGD Regio Utrecht\tzorgmeldpunt@ggd.test\ttrafficking-victims\t0\tactive" in listed.output
    )
    assert token not in listed.output
    again = runner.invoke(
        cli,
        [
            "match-service",
            "add-deployment",
            "GGD Regio Utrecht",
            "--contact-route",
            "x",
            "--purpose",
            PURPOSE,
        ],
    )
    assert again.exit_code == 1
    bad = runner.invoke(
        cli, ["match-service", "add-deployment", "X", "--contact-route", "x", "--purpose", "Bad!"]
    )
    assert bad.exit_code == 2
    revoked = runner.invoke(cli, ["match-service", "revoke-deployment", "GGD Regio Utrecht"])
    assert revoked.exit_code == 0
    assert "revoked" in runner.invoke(cli, ["match-service", "deployments"]).output


def test_concurrent_submissions_do_not_pass_the_allowance(
    limited_service: RunningService,
) -> None:
    """Eight requests of one record at once against an allowance of three: three are counted,
    five refused, none fails."""
    from concurrent.futures import ThreadPoolExecutor

    a = limited_service.register("A", "a", [PURPOSE])

    def one(n: int) -> int:
        body = {"purpose": PURPOSE, "records": [_record(f"r{n}")]}
        return _post(limited_service, a, body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(one, range(8)))
    assert statuses == [200, 200, 200, 429, 429, 429, 429, 429]
    with transaction(limited_service.sessions) as db:
        assert len(db.scalars(select(Record)).all()) == 3
        assert [u.records for u in db.scalars(select(HourlyUsage))] == [3]
