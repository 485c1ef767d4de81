"""The protective watch with a controlled clock: registered with a basis and an end date, kept
pseudonymised only, firing on a stored analysis run (of the own organisation or one under a
hit/no-hit agreement), not after its end date, and deleted after it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import accounts, sharing, tasks, watches
from signaal.chain.authz import SYSTEM, Actor, actor_for
from signaal.errors import FieldErrors, NotFoundError, PermissionDenied
from signaal.privacy.pseudonyms import pseudonym
from signaal.store.analysis import save_analysis
from signaal.store.models import (
    AuditEvent,
    Notification,
    OrganisationKind,
    ProtectiveWatch,
    WatchHit,
)

KEY = "test-pseudonym-key-0123456789abcdef-012345"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PHONE = "06-94320911"
CANONICAL = "+31694320911"


class Chain:
    def __init__(self, db: Session) -> None:
        self.db = db
        self.orgs = {}
        self.actors: dict[str, Actor] = {}
        for name, kind in (
            ("youth", OrganisationKind.YOUTH_CARE),
            ("coordination", OrganisationKind.CARE_COORDINATION),
            ("police", OrganisationKind.POLICE),
            ("outreach", OrganisationKind.OUTREACH),
        ):
            self.orgs[name] = accounts.create_organisation(
                db, name=f"Synthetisch {name}", kind=kind
            )
        for who, org, role in (
            ("youth_worker", "youth", "youth_care_worker"),
            ("youth_reporter", "youth", "signal_reporter"),
            ("youth_admin", "youth", "administrator"),
            ("coordinator", "coordination", "care_coordinator"),
            ("police", "police", "police_officer"),
        ):
            user = accounts.create_user(
                db,
                email=f"{who}@example.test",
                password="correct horse battery staple",
                display_name=f"Synthetisch {who}",
                organisation=self.orgs[org],
                role=role,
            )
            self.actors[who] = actor_for(user)
        db.flush()

    def agreement(self, *parties: str, hit_no_hit: bool = True) -> None:
        sharing.create_agreement(
            self.db,
            self.actors["youth_admin"],
            sharing.AgreementDraft(
                name="Convenant beschermen",
                parties=[self.orgs[p].id for p in parties],
                categories=["*"],
                purpose="Jongeren na de jeugdzorg beschermen",
                legal_basis="Convenant art. 3",
                valid_from=NOW - timedelta(days=30),
                hit_no_hit=hit_no_hit,
            ),
            ip=None,
            now=NOW - timedelta(days=30),
        )

    def watch(self, *, ends_at: datetime | None = None, **overrides: str) -> ProtectiveWatch:
        fields = {"label": "Jongere J.", "phone": PHONE, "basis": "consent"}
        fields.update(overrides)
        return watches.register_watch(
            self.db,
            self.actors["youth_worker"],
            watches.WatchDraft(ends_at=ends_at or NOW + timedelta(days=90), **fields),
            pseudonym_key=KEY,
            ip=None,
            now=NOW,
        )

    def run(self, owner: str, phone: str = CANONICAL) -> int:
        """A stored run of ``owner`` whose network advertises with ``phone``, through the store's
        public ``save_analysis`` (as ``signaal analyse --store`` does)."""
        point = pseudonym("phone", phone, KEY)
        ads = [
            {
                "ad_id": f"A-{i}",
                "persona_id": "P-1",
                "network_id": "N-1",
                "risk_score": 60,
                "risk_level": "review",
                "indicators": "",
                "municipality": place,
                "title": "Synthetische titel",
                "text": f"Synthetische advertentietekst {i}",
                "posted_at": NOW - timedelta(days=days),
            }
            for i, (place, days) in enumerate((("Utrecht", 3), ("Zeist", 10), ("Utrecht", 1)))
        ]
        return save_analysis(
            self.db,
            source="watch-test",
            started_at=NOW - timedelta(minutes=5),
            finished_at=NOW,
            ads=ads,
            personas=[
                {
                    "persona_id": "P-1",
                    "network_id": "N-1",
                    "n_ads": 3,
                    "risk_score": 60,
                    "reasons": "",
                }
            ],
            networks=[
                {
                    "network_id": "N-1",
                    "n_personas": 1,
                    "n_ads": 3,
                    "contact_points": point,
                    "municipalities": "Utrecht;Zeist",
                    "risk_score": 60,
                    "reasons": "",
                }
            ],
            movements=[],
            n_quarantined=0,
            organisation_id=self.orgs[owner].id,
            actor=SYSTEM,
        )


def _notifications(db: Session, organisation_id: int) -> list[Notification]:
    return list(
        db.scalars(
            select(Notification)
            .where(Notification.organisation_id == organisation_id)
            .where(Notification.kind == "watch_hit")
        )
    )


def _changes(db: Session) -> list[str]:
    rows = db.scalars(
        select(AuditEvent.details)
        .where(AuditEvent.action == "chain.record_written")
        .order_by(AuditEvent.seq)
    )
    return [
        str(d["change"])
        for d in (json.loads(row) for row in rows)
        if d.get("record_kind") == "protective_watch"
    ]


def test_a_watch_needs_a_basis_and_an_end_date_within_the_limit(db_session: Session) -> None:
    chain = Chain(db_session)
    with pytest.raises(FieldErrors) as raised:
        chain.watch(label="", phone="bel me", basis="because")
    assert set(raised.value.fields) == {"label", "phone", "basis"}
    with pytest.raises(FieldErrors) as raised:
        chain.watch(basis="legal_basis")
    assert set(raised.value.fields) == {"legal_basis"}
    for too_far in (NOW + timedelta(days=watches.MAX_WATCH_DAYS + 1), NOW - timedelta(days=1)):
        with pytest.raises(FieldErrors) as raised:
            chain.watch(ends_at=too_far)
        assert set(raised.value.fields) == {"ends_at"}
    watch = chain.watch(basis="legal_basis", legal_basis="Jeugdwet art. 7.3.4, bescherming")
    assert watch.ends_at == NOW + timedelta(days=90)
    # Only a role with watches.manage registers one.
    with pytest.raises(PermissionDenied):
        watches.register_watch(
            db_session,
            chain.actors["youth_reporter"],
            watches.WatchDraft("Jongere K.", PHONE, "consent", NOW + timedelta(days=9)),
            pseudonym_key=KEY,
            ip=None,
            now=NOW,
        )


def test_the_number_is_kept_only_as_a_purpose_specific_pseudonym(db_session: Session) -> None:
    chain = Chain(db_session)
    watch = chain.watch()
    assert watch.masked == "06-•••••11"
    assert watch.pseudonym.startswith("watch:")
    stored = json.dumps([watch.pseudonym, watch.masked, watch.label, watch.legal_basis])
    assert "94320911" not in stored
    # Not the analysis's own pseudonym: the tables cannot be joined without the key.
    assert watch.pseudonym != pseudonym("phone", CANONICAL, KEY)
    assert "94320911" not in json.dumps(_changes(db_session))


def test_it_fires_on_a_stored_run_of_a_partner_and_tells_the_coordinator(
    db_session: Session,
) -> None:
    chain = Chain(db_session)
    chain.agreement("youth", "coordination", "police")
    watch = chain.watch()
    run = chain.run("police")
    hits = watches.check_run(db_session, run, pseudonym_key=KEY, now=NOW)
    assert [(h.watch_id, h.n_ads, h.municipalities) for h in hits] == [
        (watch.id, 3, "Utrecht;Zeist")
    ]
    assert hits[0].first_seen == NOW - timedelta(days=10)
    youth_notes = tasks.notifications_of(db_session, chain.actors["youth_worker"])
    assert [n.kind for n in youth_notes] == ["watch_hit"]
    assert "3 ads, municipality Utrecht, Zeist, since 2026-05-22" in youth_notes[0].text
    assert "Jongere J." in youth_notes[0].text
    coordinator_notes = tasks.notifications_of(db_session, chain.actors["coordinator"])
    assert len(coordinator_notes) == 1
    assert "Synthetisch youth" in coordinator_notes[0].text
    # Neither holds the ad's content or the number; the police get nothing.
    for note in youth_notes + coordinator_notes:
        assert "advertentietekst" not in note.text
        assert "94320911" not in note.text
    assert _notifications(db_session, chain.orgs["police"].id) == []
    # Once per run: checking again records nothing new.
    assert watches.check_run(db_session, run, pseudonym_key=KEY, now=NOW) == []
    assert _changes(db_session) == ["created", "hit"]


def test_it_does_not_fire_without_an_agreement_or_on_another_number(db_session: Session) -> None:
    chain = Chain(db_session)
    chain.agreement("youth", "police", hit_no_hit=False)
    chain.watch()
    for run in (chain.run("police"), chain.run("outreach"), chain.run("youth", "+31694320912")):
        assert watches.check_run(db_session, run, pseudonym_key=KEY, now=NOW) == []
    assert _notifications(db_session, chain.orgs["youth"].id) == []
    # The own organisation's run fires without any agreement.
    own = chain.run("youth")
    assert len(watches.check_run(db_session, own, pseudonym_key=KEY, now=NOW)) == 1


def test_it_does_not_fire_after_its_end_date_and_is_deleted_after_it(db_session: Session) -> None:
    chain = Chain(db_session)
    chain.agreement("youth", "police")
    watch = chain.watch(ends_at=NOW + timedelta(days=30))
    early = chain.run("police")
    assert len(watches.check_run(db_session, early, pseudonym_key=KEY, now=NOW)) == 1
    late = chain.run("police")
    after = NOW + timedelta(days=30)
    assert watches.check_run(db_session, late, pseudonym_key=KEY, now=after) == []
    # Before the end date nothing is deleted; at it, the watch and its hits go, audited.
    assert watches.expire_watches(db_session, after - timedelta(seconds=1)) == []
    assert watches.expire_watches(db_session, after) == [watch.id]
    assert db_session.get(ProtectiveWatch, watch.id) is None
    assert db_session.scalars(select(WatchHit)).all() == []
    assert _changes(db_session) == ["created", "hit", "expired"]
    expired = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "chain.record_written")
    ).all()[-1]
    assert expired.actor_email == "system"


def test_only_the_system_checks_and_expires_and_only_the_owner_ends(db_session: Session) -> None:
    chain = Chain(db_session)
    watch = chain.watch()
    run = chain.run("youth")
    with pytest.raises(PermissionDenied):
        watches.check_run(
            db_session, run, pseudonym_key=KEY, now=NOW, actor=chain.actors["youth_worker"]
        )
    with pytest.raises(PermissionDenied):
        watches.expire_watches(
            db_session, NOW + timedelta(days=365), actor=chain.actors["youth_worker"]
        )
    with pytest.raises(NotFoundError):
        watches.end_watch(db_session, chain.actors["coordinator"], watch, ip=None)
    assert watches.watches_of(db_session, chain.actors["coordinator"], ip=None, now=NOW) == []
    assert watches.watches_of(db_session, chain.actors["youth_worker"], ip=None, now=NOW) == [watch]
    watches.end_watch(db_session, chain.actors["youth_worker"], watch, ip=None)
    assert db_session.get(ProtectiveWatch, watch.id) is None
    assert _changes(db_session) == ["created", "ended"]
