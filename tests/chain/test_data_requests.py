"""Access (AVG art. 15) and erasure (AVG art. 17) per subject: the export holds everything the
organisation holds about her and nothing of a partner's records about the same person; the
erasure removes every dependent row of the organisation, nothing of the partner's, is refused
under a legal hold and leaves the audit chain intact. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain import cases, data_requests, retention, sharing, tasks
from signaal.errors import ConflictError, FieldErrors, LegalHoldError, NotFoundError
from signaal.store.models import (
    AuditEvent,
    Case,
    CaseEvent,
    ContactRequest,
    OutreachContact,
    RecordShare,
    Referral,
    RemoteHit,
    RemoteMatchRecord,
    Signal,
    Subject,
    SubjectContact,
    SubjectEncoding,
    Task,
    VulnerabilityAssessment,
)

from .retention_world import CONTACT_KEY, World, make_world

# Every text of A's records about her holds this; B's hold their own marker.
OURS = "[zorg-tekst]"
THEIRS = "[politie-tekst]"


@dataclass
class People:
    w: World
    ours: Subject  # A's subject
    theirs: Subject  # B's subject for the same person
    our_signal: Signal
    their_signal: Signal
    our_case: Case
    their_case: Case


@pytest.fixture
def people(db_session: Session) -> People:
    w = make_world(db_session)
    theirs = w.person(w.officer, f"Politie-alias {THEIRS}")
    ours = w.person(w.coordinator, f"Zorg-alias {OURS}")
    our_signal = w.signal(text=f"Signaal {OURS}", subject=ours)
    w.refer(our_signal, f"Vraag {OURS}")
    their_signal = w.signal(w.officer, text=f"Signaal {THEIRS}", subject=theirs)
    our_case = cases.open_case(db_session, w.coordinator, subject_id=ours.id)
    cases.record_assessment(
        db_session, w.coordinator, our_case, answers={"dependency": "yes"}, notes=f"Notitie {OURS}"
    )
    their_case = cases.open_case(db_session, w.officer, subject_id=theirs.id)
    cases.record_assessment(
        db_session, w.officer, their_case, answers={"dependency": "no"}, notes=f"Notitie {THEIRS}"
    )
    w.contact(outcome=f"Gesprek {OURS}", subject=ours, case=our_case)
    w.finished_task(subject=ours, notes=f"Taak {OURS}")
    w.request_to_care(theirs, f"Verzoek {THEIRS}", answer=f"Antwoord {OURS}")
    sharing.share_record(
        db_session, w.coordinator, ours, w.police.id, f"Delen {OURS}", ip=None, now=w.now
    )
    db_session.flush()
    return People(w, ours, theirs, our_signal, their_signal, our_case, their_case)


def _count(db: Session, model: type[Any], *conditions: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _last_event(db: Session) -> AuditEvent:
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None
    return event


def test_the_access_report_holds_what_the_organisation_holds_and_nothing_of_the_partner(
    people: People,
) -> None:
    w = people.w
    report = data_requests.subject_access_report(
        w.db, w.coordinator, people.ours.id, contact_key=CONTACT_KEY
    )
    text = json.dumps(report, ensure_ascii=False)
    assert report["format"] == data_requests.REPORT_FORMAT
    assert report["subject"]["alias"] == f"Zorg-alias {OURS}"
    assert report["subject"]["encoded_for_matching"] is True
    for expected in ("Signaal", "Vraag", "Notitie", "Gesprek", "Taak", "Antwoord", "Delen"):
        assert f"{expected} {OURS}" in text, expected
    # The partner's message to us is ours to give too; its records about her are not.
    assert f"Verzoek {THEIRS}" in text
    for theirs in ("Politie-alias", "Signaal", "Notitie"):
        assert f"{theirs} {THEIRS}" not in text, theirs
    assert [s["id"] for s in report["signals"]] == [people.our_signal.id]
    assert [c["id"] for c in report["cases"]] == [people.our_case.id]
    assert report["cases"][0]["assessments"][0]["dependency"] is True
    assert report["contact_requests"][0]["direction"] == "received"
    assert report["contact_requests"][0]["other_organisation"] == w.police.name
    assert report["referrals"][0]["to_organisation"] == w.police.name
    assert report["shared_with"][0]["organisation"] == w.police.name
    # A care coordinator may not reveal numbers: masked only.
    assert report["contact_points"] == [
        {
            "kind": "phone",
            "masked": "06-•••••11",
            "added_at": report["contact_points"][0]["added_at"],
        }
    ]
    assert "94320911" not in text
    assert set(report["retention_days"]) == {c.name for c in retention.CATEGORIES}


def test_the_access_report_holds_every_record_an_erasure_would_delete(people: People) -> None:
    """A task that hangs on her only through an outreach contact (no subject, no case) is
    erased with her, so it is hers to see in the export too."""
    w = people.w
    contact = w.contact(outcome=f"Los gesprek {OURS}", subject=people.ours)
    task = tasks.create_task(
        w.db,
        w.coordinator,
        title="Terugbellen na gesprek",
        due_at=w.now,
        contact_id=contact.id,
        notes=f"Contacttaak {OURS}",
        now=w.now,
    )
    assert task.subject_id is None
    assert task.case_id is None
    found = retention.dependents(w.db, people.ours.organisation_id, [people.ours.id])
    assert task.id in found.tasks

    report = data_requests.subject_access_report(
        w.db, w.coordinator, people.ours.id, contact_key=CONTACT_KEY
    )

    assert f"Contacttaak {OURS}" in json.dumps(report, ensure_ascii=False)
    assert sorted(t["id"] for t in report["tasks"]) == sorted(found.tasks)


def test_the_access_report_names_her_records_at_the_match_service_and_their_hits(
    people: People,
) -> None:
    """Her encoding sent to the cross-deployment match service, and the other deployment it
    found her at (its name and contact route), are in her export; another subject's are not,
    and the opaque reference the service knows her by is not either."""
    w = people.w
    w.db.add_all(
        [
            RemoteMatchRecord(
                subject_id=people.ours.id,
                purpose="mensenhandel",
                reference="ref-ours-1",
                created_at=w.now,
                submitted_at=w.now,
            ),
            RemoteHit(
                subject_id=people.ours.id,
                purpose="mensenhandel",
                organisation="Politie Oost",
                contact_route="tel. 0800-0000 (zeden)",
                found_at=w.now,
            ),
            RemoteHit(
                subject_id=people.theirs.id,
                purpose="mensenhandel",
                organisation="Zorg Elders",
                contact_route="zorg@example.test",
                found_at=w.now,
            ),
        ]
    )
    w.db.flush()

    report = data_requests.subject_access_report(
        w.db, w.coordinator, people.ours.id, contact_key=CONTACT_KEY
    )

    assert [r["purpose"] for r in report["remote_matching"]] == ["mensenhandel"]
    assert report["remote_matching"][0]["submitted_at"] is not None
    assert [(h["organisation"], h["contact_route"]) for h in report["remote_hits"]] == [
        ("Politie Oost", "tel. 0800-0000 (zeden)")
    ]
    text = json.dumps(report, ensure_ascii=False)
    assert "ref-ours-1" not in text
    assert "Zorg Elders" not in text
    counts = json.loads(_last_event(w.db).details)["counts"]
    assert (counts["remote_matching"], counts["remote_hits"]) == (1, 1)


def test_the_access_report_shows_numbers_to_a_role_that_may_reveal_them(people: People) -> None:
    w = people.w
    report = data_requests.subject_access_report(
        w.db, w.outreach_worker, people.ours.id, contact_key=CONTACT_KEY
    )
    assert report["contact_points"][0]["value"] == "+31694320911"
    assert report["outreach_contacts"][0]["phone"] == "+31694320912"


def test_the_access_report_is_audited_with_counts_only(people: People) -> None:
    w = people.w
    data_requests.subject_access_report(
        w.db, w.coordinator, people.ours.id, contact_key=CONTACT_KEY, ip="192.0.2.7"
    )
    event = _last_event(w.db)
    assert event.action == "subject.access_reported"
    assert event.record_id == str(people.ours.id)
    assert event.ip == "192.0.2.7"
    details = json.loads(event.details)
    assert details["counts"]["signals"] == 1
    assert details["counts"]["contact_requests"] == 1
    assert OURS not in event.details


@pytest.mark.parametrize("who", ["officer", "shelter_worker"])
def test_another_organisation_or_a_role_without_the_action_gets_no_report(
    people: People, who: str
) -> None:
    w = people.w
    with pytest.raises(NotFoundError):
        data_requests.subject_access_report(
            w.db, getattr(w, who), people.ours.id, contact_key=CONTACT_KEY
        )
    with pytest.raises(NotFoundError):
        data_requests.erase_subject(w.db, getattr(w, who), people.ours.id, "consent_withdrawn")
    with pytest.raises(NotFoundError):
        data_requests.subject_access_report(w.db, w.coordinator, 999999, contact_key=CONTACT_KEY)


def test_erasure_removes_every_dependent_row_of_the_organisation_and_nothing_of_the_partner(
    people: People,
) -> None:
    w = people.w
    ours = people.ours.id
    our_case = people.our_case.id
    our_signal = people.our_signal.id
    counts = data_requests.erase_subject(w.db, w.coordinator, ours, "consent_withdrawn")
    w.db.expire_all()
    assert w.db.get(Subject, ours) is None
    for model, condition in (
        (SubjectContact, SubjectContact.subject_id == ours),
        (SubjectEncoding, SubjectEncoding.subject_id == ours),
        (Signal, Signal.subject_id == ours),
        (Signal, Signal.id == our_signal),
        (Case, Case.subject_id == ours),
        (CaseEvent, CaseEvent.case_id == our_case),
        (VulnerabilityAssessment, VulnerabilityAssessment.case_id == our_case),
        (OutreachContact, OutreachContact.organisation_id == w.care.id),
        (Task, Task.organisation_id == w.care.id),
        (Referral, Referral.organisation_id == w.care.id),
        (ContactRequest, ContactRequest.to_subject_id == ours),
        (RecordShare, RecordShare.organisation_id == w.care.id),
    ):
        assert _count(w.db, model, condition) == 0, model.__name__
    # The partner's records about the same person stay.
    assert w.db.get(Subject, people.theirs.id) is not None
    assert w.db.get(Signal, people.their_signal.id) is not None
    assert w.db.get(Case, people.their_case.id) is not None
    assert (
        _count(
            w.db, VulnerabilityAssessment, VulnerabilityAssessment.case_id == people.their_case.id
        )
        == 1
    )
    assert _count(w.db, SubjectEncoding, SubjectEncoding.subject_id == people.theirs.id) == 1
    assert counts["subjects"] == 1
    assert counts["signals"] == 1
    assert counts["cases"] == 1
    assert counts["contact_requests"] == 1
    assert counts["referrals"] == 1


def test_erasure_leaves_the_audit_log_and_names_only_kinds_counts_and_the_reason(
    people: People,
) -> None:
    w = people.w
    before = _count(w.db, AuditEvent)
    data_requests.erase_subject(w.db, w.coordinator, people.ours.id, "objection", ip="192.0.2.8")
    assert _count(w.db, AuditEvent) == before + 1
    event = _last_event(w.db)
    assert event.action == "subject.erased"
    assert event.record_id == str(people.ours.id)
    details = json.loads(event.details)
    assert set(details) == {"subject_id", "reason", "role", "on_behalf_of", "counts"}
    assert details["reason"] == "objection"
    assert all(isinstance(n, int) for n in details["counts"].values())
    assert OURS not in event.details
    assert "Zorg-alias" not in event.details
    report = audit.verify(w.db)
    assert report.ok, report.problems


def test_erasure_is_refused_under_a_legal_hold_and_with_an_unknown_ground(people: People) -> None:
    w = people.w
    with pytest.raises(FieldErrors):
        data_requests.erase_subject(w.db, w.coordinator, people.ours.id, "because")
    retention.set_legal_hold(
        w.db, w.coordinator, people.ours, hold=True, reason="Aangifte loopt", ip=None
    )
    signal_id = people.our_signal.id
    held = data_requests.subject_access_report(
        w.db, w.coordinator, people.ours.id, contact_key=CONTACT_KEY
    )
    assert held["subject"]["legal_hold"] is True
    assert "Aangifte loopt" not in json.dumps(held)
    with pytest.raises(LegalHoldError, match="legal hold"):
        data_requests.erase_subject(w.db, w.coordinator, people.ours.id, "consent_withdrawn")
    w.db.expire_all()
    assert w.db.get(Subject, people.ours.id) is not None
    assert w.db.get(Signal, signal_id) is not None


def test_erasure_is_refused_while_a_partners_case_refers_to_her(people: People) -> None:
    w = people.w
    theirs = cases.open_case(w.db, w.officer, subject_id=people.ours.id)
    with pytest.raises(ConflictError, match="another organisation"):
        data_requests.erase_subject(w.db, w.coordinator, people.ours.id, "consent_withdrawn")
    w.db.expire_all()
    assert w.db.get(Subject, people.ours.id) is not None
    assert w.db.get(Case, theirs.id) is not None
