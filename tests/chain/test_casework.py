"""Cases, assessments and aangifte support, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signaal.chain import cases
from signaal.errors import ConflictError, FieldErrors, NotFoundError, PermissionDenied
from signaal.store.models import AuditEvent, Case, CaseEvent, RecordShare

from .casework_fixtures import World, subject_of, world


@pytest.fixture
def w(db_session: Session) -> World:
    return world(db_session)


def _events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_one_open_case_per_subject_per_organisation(db_session: Session, w: World) -> None:
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    assert case.stage == "signal"
    assert case.owner_user_id == w.worker.user_id
    with pytest.raises(ConflictError):
        cases.open_case(db_session, w.colleague, subject_id=w.subject.id)
    written = _events(db_session, "chain.record_written")
    assert json.loads(written[-1].details)["record_kind"] == "case"


def test_open_case_checks_every_field_first(db_session: Session, w: World) -> None:
    with pytest.raises(FieldErrors) as caught:
        cases.open_case(db_session, w.worker, subject_id=999, owner_user_id=w.officer.user_id)
    assert set(caught.value.fields) == {"subject_id", "owner_user_id"}
    assert db_session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_subject_of_another_organisation_is_unknown(db_session: Session, w: World) -> None:
    police_subject = subject_of(db_session, w.police, "Anna")
    with pytest.raises(FieldErrors) as caught:
        cases.open_case(db_session, w.worker, subject_id=police_subject.id)
    assert caught.value.fields == {"subject_id": "unknown subject"}


def test_stages_move_forward_and_back_and_close_with_a_reason(
    db_session: Session, w: World
) -> None:
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    cases.move_stage(db_session, w.worker, case, to_stage="contact_made")
    cases.move_stage(db_session, w.worker, case, to_stage="assessment")  # back
    with pytest.raises(FieldErrors) as caught:
        cases.move_stage(db_session, w.worker, case, to_stage="closed")
    assert caught.value.fields == {"reason": "closing needs a reason"}
    assert case.stage == "assessment"
    cases.move_stage(db_session, w.worker, case, to_stage="closed", reason="Verhuisd")
    assert case.closed_at is not None
    assert case.closed_reason == "Verhuisd"
    for refused in ("aftercare", "closed", "nonsense"):
        with pytest.raises(FieldErrors):
            cases.move_stage(db_session, w.worker, case, to_stage=refused, reason="x")
    assert case.stage == "closed"
    cases.move_stage(db_session, w.worker, case, to_stage="assessment")
    assert case.closed_at is None
    history = db_session.scalars(
        select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    assert history == ["opened", "stage", "stage", "closed", "reopened"]


def test_a_refused_stage_change_changes_nothing(db_session: Session, w: World) -> None:
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    db_session.commit()
    before = db_session.scalar(select(func.count()).select_from(CaseEvent))
    audits = db_session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(FieldErrors):
        cases.move_stage(db_session, w.worker, case, to_stage="signal")
    assert db_session.scalar(select(func.count()).select_from(CaseEvent)) == before
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == audits


def test_another_organisation_reads_a_shared_case_and_never_changes_it(
    db_session: Session, w: World
) -> None:
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    with pytest.raises(PermissionDenied):
        cases.case_detail(db_session, w.officer, case)
    db_session.add(
        RecordShare(
            organisation_id=w.outreach.id,
            to_organisation_id=w.police.id,
            record_type="case",
            record_id=case.id,
            reason="Gezamenlijke aanpak",
        )
    )
    db_session.flush()
    detail = cases.case_detail(db_session, w.officer, case)
    assert detail.basis == "share"
    assert detail.contacts == []
    assert detail.tasks == []
    with pytest.raises(PermissionDenied):
        cases.move_stage(db_session, w.officer, case, to_stage="assessment")
    read = _events(db_session, "chain.record_read")[-1]
    assert read.purpose is not None
    assert read.purpose.startswith("share #")
    details = json.loads(read.details)
    assert details["subject_id"] == w.subject.id
    assert details["on_behalf_of"] == w.police.id
    assert details["role"] == "police_officer"


def test_case_list_shows_only_visible_cases_and_audits_the_ids(
    db_session: Session, w: World
) -> None:
    own = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    police_subject = subject_of(db_session, w.police, "Anna")
    cases.open_case(db_session, w.officer, subject_id=police_subject.id)
    page = cases.list_cases(db_session, w.worker)
    assert [case.id for case, _ in page.items] == [own.id]
    listed = json.loads(_events(db_session, "chain.record_read")[-1].details)
    assert listed["view"] == "list"
    assert listed["shown_ids"] == [str(own.id)]


def test_list_pages_with_a_cursor(db_session: Session, w: World) -> None:
    ids = []
    for n in range(3):
        subject = subject_of(db_session, w.outreach, f"P{n}")
        ids.append(cases.open_case(db_session, w.worker, subject_id=subject.id).id)
    first = cases.list_cases(db_session, w.worker, limit=2)
    assert [c.id for c, _ in first.items] == ids[::-1][:2]
    assert first.next is not None
    second = cases.list_cases(db_session, w.worker, limit=2, after=first.next)
    assert [c.id for c, _ in second.items] == [ids[0]]
    assert second.next is None


def test_assessments_are_a_timeline_of_answers_never_a_score(db_session: Session, w: World) -> None:
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    with pytest.raises(FieldErrors) as caught:
        cases.record_assessment(
            db_session, w.worker, case, answers={"dependency": "maybe", "score": "yes"}
        )
    assert set(caught.value.fields) == {"dependency", "score"}
    cases.record_assessment(db_session, w.worker, case, answers={"dependency": "yes"}, notes="a")
    cases.record_assessment(db_session, w.worker, case, answers={"dependency": "no"})
    detail = cases.case_detail(db_session, w.worker, case)
    assert [a.dependency for a in detail.assessments] == [True, False]
    assert detail.assessments[0].language_barrier is None  # unknown, not "no"


def test_the_audit_log_holds_no_assessment_answers(db_session: Session, w: World) -> None:
    """Vulnerability answers are health data: the never-deleted audit log names the fields
    that were written, not the answers."""
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    answers = {"prior_trauma": "yes", "dependency": "no", "language_barrier": "yes"}
    assessment = cases.record_assessment(
        db_session, w.worker, case, answers=answers, notes="vertelde over haar vriend"
    )
    (written,) = [
        json.loads(e.details)
        for e in _events(db_session, "chain.record_written")
        if json.loads(e.details)["record_kind"] == "vulnerability_assessment"
    ]
    assert written["record_key"] == str(assessment.id)
    assert "prior_trauma" in written["fields"]["fields"]
    everything = " ".join(e.details for e in db_session.scalars(select(AuditEvent)))
    assert "vriend" not in everything
    for answer in ("yes", "no", "true", "false", "unknown"):
        assert f'"{answer}"' not in everything
        assert f": {answer}" not in everything


def test_aangifte_support_names_who_accompanied(db_session: Session, w: World) -> None:
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    with pytest.raises(FieldErrors) as caught:
        cases.record_aangifte_support(
            db_session, w.worker, case, at=None, presence="sitting", police_unit="x" * 500
        )
    assert set(caught.value.fields) == {"at", "presence", "accompanied_by", "police_unit"}
    with pytest.raises(FieldErrors) as caught:
        cases.record_aangifte_support(
            db_session,
            w.worker,
            case,
            at=datetime(2026, 11, 3, 14, tzinfo=UTC),
            presence="present",
            accompanied_by_user_id=w.officer.user_id,  # not a colleague
        )
    assert caught.value.fields == {"accompanied_by_user_id": "unknown user"}
    support = cases.record_aangifte_support(
        db_session,
        w.worker,
        case,
        at=datetime(2026, 11, 3, 14, tzinfo=UTC),
        presence="waiting_outside",
        accompanied_by_user_id=w.colleague.user_id,
        police_unit="Team Mensenhandel Noord",
        follow_up="Nagesprek over twee weken",
    )
    detail = cases.case_detail(db_session, w.worker, case)
    assert [a.id for a in detail.aangifte] == [support.id]
    assert detail.events[-1].kind == "aangifte_support"
    written = json.loads(_events(db_session, "chain.record_written")[-1].details)
    assert "Nagesprek" not in json.dumps(written)  # codes only, no free text


def test_a_role_without_cases_manage_opens_nothing(db_session: Session, w: World) -> None:
    from .casework_fixtures import actor

    reporter = actor(db_session, w.outreach, "viewer", "viewer@outreach.example.test")
    with pytest.raises(PermissionDenied):
        cases.open_case(db_session, reporter, subject_id=w.subject.id)


def test_a_missing_case_detail_is_not_found_for_other_organisations(
    db_session: Session, w: World
) -> None:
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    assert cases.case_of_actor(db_session, w.officer, case.id) is None
    with pytest.raises((PermissionDenied, NotFoundError)):
        cases.case_detail(db_session, w.officer, case)
