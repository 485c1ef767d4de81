"""Hit/no-hit between two installations through the match service on loopback, end to end:
each installation registers subjects in its own store, syncs with the service and sees the
other's organisation name and contact route, nothing else; purposes stay apart; erasure
withdraws; neither the service's store nor its logs hold a clear value."""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect, select, text

from signaal.chain import data_requests
from signaal.chain.matching import Hit
from signaal.chain.remote_matching import RemoteMatching, sync
from signaal.chain.retention import erase_subject_records
from signaal.match_service.store import Record
from signaal.privacy.matching import Person
from signaal.store.db import transaction
from signaal.store.models import (
    AuditEvent,
    OrganisationKind,
    RemoteHit,
    RemoteMatchRecord,
    RemoteMatchWithdrawal,
)

from .conftest import (
    NOW,
    OTHER_PURPOSE,
    OTHER_SECRET,
    PURPOSE,
    SANNE,
    SHARED_SECRET,
    InstallationFactory,
    Pair,
    RunningService,
)

POLICE_HIT = Hit("Politie Midden-Nederland", "0900-8844", None)
CARE_HIT = Hit("GGD Regio Utrecht", "zorgmeldpunt@ggd.test", None)

# How the care installation writes the person the police registered as SANNE.
SPELLINGS = {
    "typo in the first name": Person("Sane", "van der Berg", date(1990, 3, 4)),
    "tussenvoegsel glued": Person("Sanne", "Vanderberg", date(1990, 3, 4)),
    "tussenvoegsel abbreviated": Person("sanne", "V.d. Berg", date(1990, 3, 4)),
    "day and month swapped": Person("Sanne", "van der Berg", date(1990, 4, 3)),
    "all three and another phone format": Person(
        "Sane", "Vanderberg", date(1990, 4, 3), "+31 6 12345678"
    ),
}


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_person_in_both_deployments_is_a_hit_on_both_sides(pair: Pair, spelling: Person) -> None:
    pair.police.register("Roos", SANNE)
    pair.care.register("Madelief", spelling)
    pair.care.register("Iemand anders", Person("Fatima", "El Amrani", date(1985, 7, 2)))
    assert pair.police.sync().problems == []
    assert pair.care.sync().problems == []
    # The police submitted first: it learns of the care record at its next sync.
    assert pair.police.sync().hits_found == 1
    assert pair.care.hits("Madelief") == [POLICE_HIT]
    assert pair.police.hits("Roos") == [CARE_HIT]
    assert pair.care.hits("Iemand anders") == []


def test_another_person_is_no_hit(pair: Pair) -> None:
    pair.police.register("Roos", SANNE)
    pair.care.register("Lotte", Person("Sanne", "de Jong", date(1990, 3, 4)))
    pair.care.register("Noor", Person("Sanne", "van der Berg", date(1979, 11, 23)))
    for side in (pair.police, pair.care, pair.police):
        assert side.sync().problems == []
    assert pair.police.hits("Roos") == []
    assert pair.care.hits("Lotte") == pair.care.hits("Noor") == []


def test_the_hit_is_audited_with_names_of_organisations_only(pair: Pair) -> None:
    pair.police.register("Roos", SANNE)
    pair.care.register("Madelief", SPELLINGS["tussenvoegsel glued"])
    pair.police.sync()
    pair.care.sync()
    pair.police.sync()
    pair.care.hits("Madelief")
    with transaction(pair.care.sessions) as db:
        events = db.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        stored = db.scalars(select(RemoteMatchRecord)).one()
    written = [json.loads(e.details) for e in events if e.action == "chain.record_written"]
    remote = [d for d in written if d.get("change") == "remote_hits"]
    assert remote
    assert remote[0]["fields"] == {
        "purpose": PURPOSE,
        "found": ["Politie Midden-Nederland"],
        "gone": [],
    }
    shown = [d for d in written if d.get("change") == "hits"]
    assert shown[-1]["fields"]["remote"] == ["Politie Midden-Nederland"]
    everything = " ".join(str(e.details) for e in events).lower()
    for value in ("sanne", "vanderberg", "1990", "612345678"):
        assert value not in everything
    # Submitted: the encoding left the queue, only the reference stays.
    assert stored.payload is None
    assert stored.submitted_at is not None


def _organisation_counts(service: RunningService) -> int:
    with transaction(service.sessions) as db:
        return len(db.scalars(select(Record)).all())


def test_erasure_withdraws_the_record_and_the_hit_goes_on_both_sides(pair: Pair) -> None:
    roos = pair.police.register("Roos", SANNE)
    pair.care.register("Madelief", SPELLINGS["day and month swapped"])
    for side in (pair.police, pair.care, pair.police):
        side.sync()
    assert pair.police.hits("Roos") == [CARE_HIT]
    assert _organisation_counts(pair.service) == 2
    with transaction(pair.police.sessions) as db:
        counts = data_requests.erase_subject(db, pair.police.actor, roos.id, "consent_withdrawn")
    assert counts["remote_match_records"] == 1
    assert counts["remote_hits"] == 1
    with transaction(pair.police.sessions) as db:
        queued = db.scalars(select(RemoteMatchWithdrawal)).all()
        assert [(w.purpose, len(w.reference)) for w in queued] == [(PURPOSE, 32)]
        assert db.scalars(select(RemoteMatchRecord)).all() == []
    report = pair.police.sync()
    assert (report.withdrawn, report.problems) == (1, [])
    assert _organisation_counts(pair.service) == 1
    with transaction(pair.police.sessions) as db:
        assert db.scalars(select(RemoteMatchWithdrawal)).all() == []
    assert pair.care.sync().hits_gone == 1
    assert pair.care.hits("Madelief") == []
    with transaction(pair.care.sessions) as db:
        assert db.scalars(select(RemoteHit)).all() == []


def test_retention_withdraws_like_an_erasure(pair: Pair) -> None:
    roos = pair.police.register("Roos", SANNE)
    pair.police.sync()
    with transaction(pair.police.sessions) as db:
        erase_subject_records(db, [roos.id])
    assert pair.police.sync().withdrawn == 1
    assert _organisation_counts(pair.service) == 0


def test_a_withdrawal_waits_in_the_queue_while_the_service_is_away(pair: Pair) -> None:
    roos = pair.police.register("Roos", SANNE)
    pair.police.sync()
    with transaction(pair.police.sessions) as db:
        erase_subject_records(db, [roos.id])
    away = pair.police.remote
    unreachable = RemoteMatching(
        "http://127.0.0.1:9", away.token, away.secrets, away.organisations, 2.0
    )
    with transaction(pair.police.sessions) as db:
        report = sync(db, unreachable, now=NOW)
    assert report.withdrawn == 0
    assert report.problems
    assert "did not answer" in report.problems[0]
    assert pair.police.sync().withdrawn == 1


def test_purposes_stay_apart(
    match_service: RunningService, installation: InstallationFactory
) -> None:
    """Police and care take part in different purposes: the same person is no hit, even when
    both sides were (wrongly) configured with the same secret, so that their filters agree."""
    police_token = match_service.register("Politie", "0900-8844", [PURPOSE])
    care_token = match_service.register("Jeugdzorg", "jeugd@zorg.test", [OTHER_PURPOSE])
    police = installation(
        "politie",
        OrganisationKind.POLICE,
        "police_officer",
        service_url=match_service.url,
        token=police_token,
        secrets={PURPOSE: SHARED_SECRET},
    )
    care = installation(
        "jeugd",
        OrganisationKind.CARE_COORDINATION,
        "care_coordinator",
        service_url=match_service.url,
        token=care_token,
        secrets={OTHER_PURPOSE: OTHER_SECRET},
    )
    police.register("Roos", SANNE)
    care.register("Madelief", SANNE)
    for side in (police, care, police):
        assert side.sync().problems == []
    assert police.hits("Roos") == care.hits("Madelief") == []


def test_a_record_never_matches_across_purposes_at_the_service(
    match_service: RunningService,
) -> None:
    """The very same encoding submitted under two purposes by two deployments is no hit."""
    from signaal.match_service.wire import record_out
    from signaal.privacy.matching import Matcher

    a = match_service.register("A", "a", [PURPOSE, OTHER_PURPOSE])
    b = match_service.register("B", "b", [OTHER_PURPOSE])
    body = record_out("r1", Matcher(SHARED_SECRET, PURPOSE).encode(SANNE))
    with httpx.Client(base_url=match_service.url, timeout=10) as client:
        first = client.post(
            "/v1/records",
            json={"purpose": PURPOSE, "records": [body]},
            headers={"Authorization": f"Bearer {a}"},
        )
        second = client.post(
            "/v1/records",
            json={"purpose": OTHER_PURPOSE, "records": [body]},
            headers={"Authorization": f"Bearer {b}"},
        )
        # The same in the same purpose is a hit: the comparison above could have found one.
        third = client.post(
            "/v1/records",
            json={"purpose": OTHER_PURPOSE, "records": [body]},
            headers={"Authorization": f"Bearer {a}"},
        )
    assert first.json() == {"hits": [], "next": None}
    assert second.json() == {"hits": [], "next": None}
    assert third.json()["hits"] == [{"reference": "r1", "organisation": "B", "contact_route": "b"}]


# Four letters could occur by chance in a file of random filter bits; they are searched for in
# the logs only.
SHORT_VALUES = ["sane", "berg", "roos"]
PLAIN_VALUES = [
    "sanne",
    "van der berg",
    "vanderberg",
    "madelief",
    "1990-03-04",
    "1990-04-03",
    "04-03-1990",
    "19900304",
    "0612345678",
    "612345678",
    "31612345678",
    "06-1234 5678",
]


def _service_store_text(service: RunningService) -> bytes:
    url = service.settings.database_url
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        # The database and its write-ahead log, as they lie on disk.
        return b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
    with service.engine.connect() as conn:
        rows = [
            repr(tuple(row)).encode()
            for table in inspect(service.engine).get_table_names()
            for row in conn.execute(text(f'SELECT * FROM "{table}"'))
        ]
    return b"\n".join(rows)


def test_the_service_store_and_logs_hold_no_plain_value(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pair.police.register("Roos", SANNE)
    pair.care.register("Madelief", SPELLINGS["all three and another phone format"])
    for side in (pair.police, pair.care, pair.police):
        side.sync()
    assert pair.police.hits("Roos") == [CARE_HIT]
    stored = _service_store_text(pair.service).lower()
    assert b"politie midden-nederland" in stored  # the search can find what is there
    logs = caplog.text.lower()
    assert "submitted 1 record(s)" in logs
    for value in PLAIN_VALUES:
        assert value.encode() not in stored, value
    for value in PLAIN_VALUES + SHORT_VALUES:
        assert value not in logs, value
    # Nor in what the installations queued for the service.
    for side in (pair.police, pair.care):
        with transaction(side.sessions) as db:
            queued = " ".join(r.payload or "" for r in db.scalars(select(RemoteMatchRecord)))
        assert not any(value in queued.lower() for value in PLAIN_VALUES)
