"""The cross-organisation visibility matrix of signaal.chain.visibility, on SQLite and PostgreSQL.

For every ordered pair of organisation kinds (owner, viewer) and every record type (signal,
subject, case):

* without an agreement or a share the viewer sees nothing of the owner's;
* an explicit share opens the record until it is revoked;
* a referral opens it only while it is in progress or accepted;
* an emergency access opens it only for the user who holds it, and only until it expires;
* a sharing agreement opens signals only: of its categories (``*`` for all; one code never
  matches inside another), while in force (from ``valid_from``, before ``valid_until``) and not
  revoked, and only between the organisations it names. The categories case runs for every
  pair; the other agreement cases rotate over the viewers of each owner kind, so that each runs
  for every owner kind (and the suite stays bounded).

Every check also compares the three views of the same rule for every record and every actor of
the scenario: ``visible_clause`` (lists), ``basis`` (the ground a detail page audits) and
``allowed()`` on ``resource_for`` (the guard of a detail page) always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import accounts, visibility
from signaal.chain.authz import Action, Actor, allowed
from signaal.store.models import (
    Agreement,
    AgreementParty,
    Case,
    EmergencyAccess,
    Organisation,
    OrganisationKind,
    RecordShare,
    Referral,
    Signal,
    Subject,
)

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
KINDS = tuple(OrganisationKind)
VIEW = {"signal": Action.VIEW_SIGNALS, "subject": Action.VIEW_SUBJECTS, "case": Action.VIEW_CASES}
MODELS: dict[str, type[Signal] | type[Subject] | type[Case]] = {
    "signal": Signal,
    "subject": Subject,
    "case": Case,
}
Record = Signal | Subject | Case


@dataclass(frozen=True)
class World:
    orgs: dict[OrganisationKind, Organisation]
    # Two users per organisation (the emergency holder and a colleague), as actors with a role
    # that reads signals, subjects and cases.
    actors: dict[OrganisationKind, tuple[Actor, Actor]]


@pytest.fixture
def world(db_session: Session) -> World:
    orgs: dict[OrganisationKind, Organisation] = {}
    actors: dict[OrganisationKind, tuple[Actor, Actor]] = {}
    for kind in KINDS:
        organisation = accounts.create_organisation(db_session, name=f"Org {kind.value}", kind=kind)
        orgs[kind] = organisation
        pair = []
        for n in (1, 2):
            user = accounts.create_user(
                db_session,
                email=f"{kind.value}-{n}@example.test",
                password="correct horse battery staple",
                display_name=f"{kind.value} {n}",
                organisation=organisation,
                role="viewer",
            )
            pair.append(
                Actor(user.id, user.email, organisation.id, kind, "care_coordinator", False)
            )
        actors[kind] = (pair[0], pair[1])
    db_session.flush()
    return World(orgs, actors)


def _record(db: Session, record_type: str, owner: Organisation, category: str = "other") -> Record:
    record: Record
    if record_type == "signal":
        record = Signal(
            organisation_id=owner.id, category=category, observed_at=NOW - timedelta(days=1)
        )
    elif record_type == "subject":
        record = Subject(organisation_id=owner.id, alias="Testpersoon")
    else:
        subject = Subject(organisation_id=owner.id, alias="Testpersoon")
        db.add(subject)
        db.flush()
        record = Case(organisation_id=owner.id, subject_id=subject.id)
    db.add(record)
    db.flush()
    return record


def _seen(db: Session, actor: Actor, records: list[Record]) -> set[tuple[str, int]]:
    """What ``actor`` sees of ``records``, asserting that lists, grounds and the guard agree."""
    by_basis: set[tuple[str, int]] = set()
    by_clause: set[tuple[str, int]] = set()
    for record_type, model in MODELS.items():
        mine = [r for r in records if isinstance(r, model)]
        if not mine:
            continue
        ids = [r.id for r in mine]
        by_clause |= {
            (record_type, i)
            for i in db.scalars(
                select(model.id).where(visible_clause_of(actor, model), model.id.in_(ids))
            )
        }
        for record in mine:
            ground = visibility.basis(db, actor, record, now=NOW)
            resource = visibility.resource_for(db, actor, record, now=NOW)
            may = allowed(actor, VIEW[record_type], resource)
            assert may is (ground is not None), (record_type, record.id, actor.email, ground)
            if ground is not None:
                by_basis.add((record_type, record.id))
    assert by_clause == by_basis, (actor.email, by_clause ^ by_basis)
    return by_basis


def visible_clause_of(actor: Actor, model: type[Signal] | type[Subject] | type[Case]):  # type: ignore[no-untyped-def]
    return visibility.visible_clause(actor, model, now=NOW)


def _third(owner: OrganisationKind, viewer: OrganisationKind) -> OrganisationKind:
    return next(k for k in KINDS if k not in (owner, viewer))


def _key(record: Record) -> tuple[str, int]:
    return (visibility.record_type_of(record), record.id)


def _cleanup(db: Session, rows: list[object]) -> None:
    """Delete the scenario's rows, the grants before what they grant (one at a time, so that
    the store's own cascades never surprise the session)."""
    for row in reversed(rows):
        db.delete(row)
        db.flush()


def _check(
    db: Session,
    world: World,
    owner: OrganisationKind,
    viewer: OrganisationKind,
    records: list[Record],
    expected: dict[Actor, set[tuple[str, int]]],
) -> None:
    third = _third(owner, viewer)
    actors = [*world.actors[viewer], world.actors[third][0]]
    for actor in actors:
        wanted = expected.get(actor, set())
        assert _seen(db, actor, records) == wanted, (owner.value, viewer.value, actor.email)


def _viewers(owner: OrganisationKind) -> list[OrganisationKind]:
    return [viewer for viewer in KINDS if viewer != owner]


@pytest.mark.parametrize("owner", KINDS, ids=[k.value for k in KINDS])
def test_shares_referrals_and_emergencies(
    db_session: Session, world: World, owner: OrganisationKind
) -> None:
    """For every viewer of another kind (the owner's own records are her own)."""
    for viewer in _viewers(owner):
        _shares_referrals_and_emergencies(db_session, world, owner, viewer)


def _shares_referrals_and_emergencies(
    db: Session, world: World, owner: OrganisationKind, viewer: OrganisationKind
) -> None:
    owner_org, viewer_org = world.orgs[owner], world.orgs[viewer]
    holder, colleague = world.actors[viewer]
    records: list[Record] = []
    grants: list[object] = []
    seen_by_viewer: set[tuple[str, int]] = set()
    seen_by_holder: set[tuple[str, int]] = set()
    for record_type in MODELS:
        # Nothing: not seen.
        records.append(_record(db, record_type, owner_org))
        # An explicit share: seen; revoked: not.
        for revoked in (False, True):
            record = _record(db, record_type, owner_org)
            records.append(record)
            grants.append(
                RecordShare(
                    organisation_id=owner_org.id,
                    to_organisation_id=viewer_org.id,
                    record_type=record_type,
                    record_id=record.id,
                    reason="test",
                    revoked_at=NOW - timedelta(hours=1) if revoked else None,
                )
            )
            if not revoked:
                seen_by_viewer.add(_key(record))
        # A referral to the viewer: seen while in progress or accepted.
        for state in ("in_progress", "accepted", "rejected", "done", "revoked"):
            record = _record(db, record_type, owner_org)
            records.append(record)
            column = {"signal": "signal_id", "subject": "subject_id", "case": "case_id"}
            grants.append(
                Referral(
                    organisation_id=owner_org.id,
                    to_organisation_id=viewer_org.id,
                    basis="consent",
                    state=state,
                    purpose="test",
                    **{column[record_type]: record.id},
                )
            )
            if state in visibility.OPEN_REFERRAL_STATES:
                seen_by_viewer.add(_key(record))
        # An emergency access of one user: hers only, until it expires.
        for expired in (False, True):
            record = _record(db, record_type, owner_org)
            records.append(record)
            grants.append(
                EmergencyAccess(
                    organisation_id=viewer_org.id,
                    user_id=holder.user_id,
                    record_type=record_type,
                    record_id=record.id,
                    owner_organisation_id=owner_org.id,
                    reason="test",
                    started_at=NOW - timedelta(hours=2),
                    expires_at=NOW - timedelta(minutes=1) if expired else NOW + timedelta(hours=1),
                )
            )
            if not expired:
                seen_by_holder.add(_key(record))
    db.add_all(grants)
    db.flush()
    # The holder of the emergency accesses sees every record of the scenario on its ground;
    # her colleague is asked about the emergency records only (for the rest she is the same
    # organisation as the holder, and the suite stays bounded).
    assert _seen(db, holder, records) == seen_by_viewer | seen_by_holder, (owner, viewer)
    emergency_records = [r for r in records if _key(r) in seen_by_holder] + [
        r for r in records if isinstance(r, Signal)
    ]
    assert _seen(db, colleague, emergency_records) == {
        _key(r) for r in emergency_records if _key(r) in seen_by_viewer
    }, (owner, viewer)
    _cleanup(db, [*records, *grants])


def _agreement(
    db: Session,
    parties: list[Organisation],
    categories: str,
    *,
    valid_from: datetime = NOW - timedelta(days=30),
    valid_until: datetime | None = None,
    revoked_at: datetime | None = None,
) -> list[object]:
    agreement = Agreement(
        organisation_id=parties[0].id,
        name="Convenant test",
        purpose="test purpose",
        legal_basis="test basis",
        categories=categories,
        valid_from=valid_from,
        valid_until=valid_until,
        revoked_at=revoked_at,
    )
    db.add(agreement)
    db.flush()
    rows: list[object] = [agreement]
    for party in parties:
        row = AgreementParty(agreement_id=agreement.id, organisation_id=party.id)
        db.add(row)
        rows.append(row)
    db.flush()
    return rows


@dataclass(frozen=True)
class AgreementCase:
    name: str
    categories: str
    seen_categories: frozenset[str]
    valid_from: timedelta = timedelta(days=-30)  # relative to NOW
    valid_until: timedelta | None = None
    revoked: bool = False
    with_viewer: bool = True


CATEGORIES_ALL = ("debt", "minor", "control")
AGREEMENT_CASES = (
    AgreementCase("its categories only", "fear,debt", frozenset({"debt"})),
    AgreementCase("the wildcard", "*", frozenset(CATEGORIES_ALL)),
    AgreementCase("no code inside another", "money_control", frozenset()),
    AgreementCase("not yet in force", "*", frozenset(), valid_from=timedelta(days=1)),
    AgreementCase("ended", "*", frozenset(), valid_until=timedelta(seconds=-1)),
    AgreementCase("until a future end", "debt", frozenset({"debt"}), valid_until=timedelta(days=1)),
    AgreementCase("revoked", "*", frozenset(), revoked=True),
    AgreementCase("without the viewer", "*", frozenset(), with_viewer=False),
)
CATEGORIES = CATEGORIES_ALL


@pytest.mark.parametrize("owner", KINDS, ids=[k.value for k in KINDS])
def test_agreements_open_signals_of_their_categories_while_in_force(
    db_session: Session, world: World, owner: OrganisationKind
) -> None:
    """Every pair gets the categories case; the other cases rotate over the viewers, so that each
    runs for several pairs and every pair for two (the time bound of the suite)."""
    for index, viewer in enumerate(_viewers(owner)):
        rotating = AGREEMENT_CASES[1 + (index + KINDS.index(owner)) % (len(AGREEMENT_CASES) - 1)]
        _agreements(db_session, world, owner, viewer, (AGREEMENT_CASES[0], rotating))


def test_every_agreement_case_runs_for_every_owner() -> None:
    for owner in KINDS:
        ran = {
            AGREEMENT_CASES[1 + (index + KINDS.index(owner)) % (len(AGREEMENT_CASES) - 1)]
            for index in range(len(_viewers(owner)))
        }
        assert ran == set(AGREEMENT_CASES[1:])


def _agreements(
    db: Session,
    world: World,
    owner: OrganisationKind,
    viewer: OrganisationKind,
    cases: tuple[AgreementCase, ...],
) -> None:
    owner_org, viewer_org = world.orgs[owner], world.orgs[viewer]
    third_org = world.orgs[_third(owner, viewer)]
    for case in cases:
        parties = [owner_org, viewer_org] if case.with_viewer else [owner_org, third_org]
        rows = _agreement(
            db,
            parties,
            case.categories,
            valid_from=NOW + case.valid_from,
            valid_until=NOW + case.valid_until if case.valid_until is not None else None,
            revoked_at=NOW - timedelta(hours=1) if case.revoked else None,
        )
        signals = [_record(db, "signal", owner_org, category) for category in CATEGORIES]
        # Subjects and cases are never opened by an agreement.
        others = [_record(db, "subject", owner_org), _record(db, "case", owner_org)]
        seen = {_key(s) for s in signals if s.category in case.seen_categories}
        expected = dict.fromkeys(world.actors[viewer], seen)
        if not case.with_viewer and not case.revoked:
            # The third organisation named instead sees them (the agreement is in force).
            expected[world.actors[_third(owner, viewer)][0]] = {_key(s) for s in signals}
        _check(db, world, owner, viewer, [*signals, *others], expected)
        grounds = {visibility.basis(db, world.actors[viewer][0], s, now=NOW) for s in signals} - {
            None
        }
        assert all(g is not None and g.kind == "agreement" for g in grounds), case.name
        assert all(g is not None and g.purpose == "test purpose" for g in grounds), case.name
        _cleanup(db, [*signals, *others, *rows])
