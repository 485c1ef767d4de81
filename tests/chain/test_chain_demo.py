"""The demo chain (signaal.synth.chain): every kind of record and state, the invariants of the
chain (owners, transitions, pseudonyms, sealing), no clear phone number anywhere in the store,
deterministic for a seed and a time, and made once. On SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from signaal.chain import catalogue
from signaal.chain.accounts import DEMO_ORGANISATIONS, seed_demo
from signaal.chain.outreach import sealing_row
from signaal.chain.subjects import seal_context
from signaal.privacy.pseudonyms import pseudonym
from signaal.privacy.sealing import Sealer
from signaal.store.models import (
    AangifteSupport,
    Agreement,
    AgreementParty,
    Base,
    Case,
    CaseEvent,
    JointControl,
    JointControlPart,
    Organisation,
    OrganisationKind,
    OutreachContact,
    Placement,
    RecordShare,
    Referral,
    ReferralEvent,
    Shelter,
    Signal,
    Subject,
    SubjectContact,
    Task,
    VulnerabilityAssessment,
)
from signaal.synth.chain import AGREEMENT_KINDS, seed_chain_demo

CHAIN_MODELS = (
    AangifteSupport, Agreement, AgreementParty, Case, CaseEvent, JointControl, JointControlPart,
    OutreachContact, Placement, RecordShare, Referral, ReferralEvent, Shelter, Signal, Subject,
    SubjectContact, Task, VulnerabilityAssessment,
)  # fmt: skip
PSEUDONYM_KEY = "demo-test-pseudonym-key-0123456789abcdef"
CONTACT_KEY = "demo-test-contact-key-0123456789abcdef-xy"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _seed(session: Session, seed: int = 2026):  # type: ignore[no-untyped-def]
    seed_demo(session)
    summary = seed_chain_demo(
        session, pseudonym_key=PSEUDONYM_KEY, contact_key=CONTACT_KEY, seed=seed, now=NOW
    )
    session.commit()
    return summary


def _codes(session: Session, column) -> set[str]:  # type: ignore[no-untyped-def]
    return set(session.scalars(select(column).distinct()))


def test_every_kind_of_record_and_every_state_is_there(db_session: Session) -> None:
    summary = _seed(db_session)
    assert summary.created
    assert _codes(db_session, Signal.category) == set(catalogue.SIGNAL_CATEGORIES)
    assert _codes(db_session, Signal.source) == set(catalogue.SIGNAL_SOURCES)
    assert _codes(db_session, Signal.status) == set(catalogue.SIGNAL_STATUSES)
    assert _codes(db_session, Case.stage) == set(catalogue.CASE_STAGES)
    assert _codes(db_session, Referral.state) == set(catalogue.REFERRAL_STATES)
    assert _codes(db_session, Referral.kind) == set(catalogue.REFERRAL_KINDS)
    assert _codes(db_session, Placement.state) == set(catalogue.PLACEMENT_STATES)
    assert len(_codes(db_session, Signal.municipality)) >= 10
    for model in (
        Subject, SubjectContact, OutreachContact, Task, Shelter, AangifteSupport,
        JointControl, VulnerabilityAssessment, RecordShare, CaseEvent, ReferralEvent,
    ):  # fmt: skip
        assert db_session.scalar(select(func.count()).select_from(model)), model.__name__
    # Some follow-ups are overdue, some not.
    open_tasks = db_session.scalars(select(Task).where(Task.status == "open")).all()
    assert any(t.due_at < NOW for t in open_tasks)
    assert any(t.due_at > NOW for t in open_tasks)
    # Signals in the current month and over earlier months.
    months = {
        s.observed_at.astimezone(UTC).strftime("%Y-%m") for s in db_session.scalars(select(Signal))
    }
    assert NOW.strftime("%Y-%m") in months
    assert len(months) >= 4
    # One organisation of every kind, all in the demo region.
    kinds = {o.kind for o in db_session.scalars(select(Organisation))}
    assert kinds == set(OrganisationKind)


def test_the_agreement_names_the_partners_with_purpose_and_legal_basis(
    db_session: Session,
) -> None:
    _seed(db_session)
    agreement = db_session.scalars(select(Agreement)).one()
    assert agreement.purpose.strip()
    assert agreement.legal_basis.strip()
    assert agreement.revoked_at is None
    assert agreement.valid_from < NOW
    parties = set(
        db_session.scalars(
            select(Organisation.kind)
            .join(AgreementParty, AgreementParty.organisation_id == Organisation.id)
            .where(AgreementParty.agreement_id == agreement.id)
        )
    )
    assert parties == set(AGREEMENT_KINDS)


def test_records_keep_the_chain_invariants(db_session: Session) -> None:
    _seed(db_session)
    subjects = {s.id: s for s in db_session.scalars(select(Subject))}
    for signal in db_session.scalars(select(Signal)):
        if signal.subject_id is not None:
            assert subjects[signal.subject_id].organisation_id == signal.organisation_id
            assert signal.contact_pseudonyms
    for case in db_session.scalars(select(Case)):
        assert subjects[case.subject_id].organisation_id == case.organisation_id
        assert (case.stage == "closed") is (case.closed_at is not None)
        events = db_session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind == "stage")
            .order_by(CaseEvent.at, CaseEvent.id)
        ).all()
        assert events[0].from_stage is None
        assert events[-1].to_stage == case.stage
        for before, after in itertools.pairwise(events):
            assert after.from_stage == before.to_stage
    for contact in db_session.scalars(select(OutreachContact)):
        if contact.subject_id is not None:
            assert subjects[contact.subject_id].organisation_id == contact.organisation_id
    for referral in db_session.scalars(select(Referral)):
        assert referral.organisation_id != referral.to_organisation_id
        assert referral.basis in catalogue.REFERRAL_BASES
        assert referral.basis == "consent" or referral.legal_basis
        events = db_session.scalars(
            select(ReferralEvent)
            .where(ReferralEvent.referral_id == referral.id)
            .order_by(ReferralEvent.at, ReferralEvent.id)
        ).all()
        assert events[0].from_state is None
        assert events[0].to_state == "in_progress"
        assert events[-1].to_state == referral.state
        for event in events[1:]:
            assert event.from_state is not None
            assert event.to_state in catalogue.REFERRAL_TRANSITIONS[event.from_state]
            if event.to_state in catalogue.REFERRAL_REASON_REQUIRED:
                assert event.reason
    for shelter in db_session.scalars(select(Shelter)):
        assert 0 <= shelter.available_places <= shelter.capacity
    shelter_orgs = {s.id: s.organisation_id for s in db_session.scalars(select(Shelter))}
    for placement in db_session.scalars(select(Placement)):
        assert placement.shelter_id in shelter_orgs
    for part in db_session.scalars(select(JointControlPart)):
        control = db_session.get(JointControl, part.control_id)
        assert control is not None
        assert part.organisation_id in (control.organisation_id, control.partner_organisation_id)


def test_phone_numbers_are_pseudonymised_sealed_and_masked_only(db_session: Session) -> None:
    _seed(db_session)
    sealer = Sealer(CONTACT_KEY)
    for row in db_session.scalars(select(SubjectContact)):
        # Bound as the subject service binds it, so that its reveal page opens the number.
        number = sealer.open(
            row.sealed, run_id=0, pseudonym=seal_context(row.subject_id, row.pseudonym)
        )
        assert number.startswith("+")
        assert row.pseudonym == pseudonym("phone", number, PSEUDONYM_KEY)
        assert "•" in row.masked
        assert number not in row.masked
    phones = 0
    for contact in db_session.scalars(select(OutreachContact)):
        if contact.phone_sealed is None:
            continue
        assert contact.phone_pseudonym is not None
        row_id, bound = sealing_row(contact.id)
        number = sealer.open(contact.phone_sealed, run_id=row_id, pseudonym=bound)
        assert contact.phone_pseudonym == pseudonym("phone", number, PSEUDONYM_KEY)
        phones += 1
    assert phones > 0


def _all_text(engine: Engine) -> str:
    parts: list[str] = []
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name not in inspect(connection).get_table_names():
                continue
            for row in connection.execute(table.select()):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def test_no_clear_phone_number_is_stored(db_session: Session, engine: Engine) -> None:
    _seed(db_session)
    sealer = Sealer(CONTACT_KEY)
    numbers = [
        sealer.open(row.sealed, run_id=0, pseudonym=seal_context(row.subject_id, row.pseudonym))
        for row in db_session.scalars(select(SubjectContact))
    ]
    stored = _all_text(engine)
    for number in numbers:
        national = "0" + number[3:]
        for form in (number, number[1:], national):
            assert form not in stored
    # Nothing that looks like a Dutch mobile number in the clear either.
    assert not re.search(r"(?<![\w.])(?:\+31|0)6[\s-]?\d{8}(?!\d)", stored)


def _snapshot(session: Session) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    rows += [
        (
            s.organisation_id,
            s.category,
            s.source,
            s.municipality,
            s.status,
            s.observed_at,
            s.subject_id,
        )
        for s in session.scalars(select(Signal).order_by(Signal.id))
    ]
    rows += [
        (c.organisation_id, c.stage, c.opened_at)
        for c in session.scalars(select(Case).order_by(Case.id))
    ]
    rows += [
        (r.state, r.kind, r.due_at) for r in session.scalars(select(Referral).order_by(Referral.id))
    ]
    rows += [
        (s.alias, s.birth_year_from) for s in session.scalars(select(Subject).order_by(Subject.id))
    ]
    rows += [
        (c.pseudonym, c.masked)
        for c in session.scalars(select(SubjectContact).order_by(SubjectContact.pseudonym))
    ]
    return rows


def test_the_same_seed_and_time_give_the_same_chain_and_a_second_run_adds_nothing(
    db_session: Session, engine: Engine
) -> None:
    _seed(db_session)
    first = _snapshot(db_session)
    again = seed_chain_demo(
        db_session, pseudonym_key=PSEUDONYM_KEY, contact_key=CONTACT_KEY, now=NOW
    )
    db_session.commit()
    assert not again.created
    assert _snapshot(db_session) == first
    # Made anew from scratch: the same records.
    _clear_chain(engine)
    db_session.expire_all()
    assert seed_chain_demo(
        db_session, pseudonym_key=PSEUDONYM_KEY, contact_key=CONTACT_KEY, now=NOW
    ).created
    db_session.commit()
    second = _snapshot(db_session)
    # Ids differ after a delete on PostgreSQL (sequences); compare without them.
    assert _without_ids(second) == _without_ids(first)
    other = _other_seed(engine)
    assert other != _without_ids(first)


def _without_ids(rows: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [tuple(v for v in row if not isinstance(v, int) or isinstance(v, bool)) for row in rows]


def _clear_chain(engine: Engine) -> None:
    """Delete every chain record (the tables of migration 0003), keeping organisations and
    users."""
    chain_tables = {model.__table__.name for model in CHAIN_MODELS}
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in chain_tables:
                connection.execute(table.delete())


def _other_seed(engine: Engine) -> list[tuple[object, ...]]:
    _clear_chain(engine)
    with Session(engine) as session:
        seed_chain_demo(
            session, pseudonym_key=PSEUDONYM_KEY, contact_key=CONTACT_KEY, seed=7, now=NOW
        )
        rows = _without_ids(_snapshot(session))
        session.rollback()
    return rows


def test_the_demo_organisations_are_the_demo_of_every_kind() -> None:
    assert set(DEMO_ORGANISATIONS) == set(OrganisationKind)
