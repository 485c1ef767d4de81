"""Two organisations holding records about the same (synthetic) person, for the retention and
data-subject request tests: a care coordination organisation (A) and a police force (B) under a
hit/no-hit agreement, each with its own subject for her."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from signaal.chain import (
    accounts,
    cases,
    contact_requests,
    outreach,
    referrals,
    sharing,
    signals,
    subjects,
    tasks,
)
from signaal.chain.authz import Actor, actor_for
from signaal.store.models import (
    Case,
    ContactRequest,
    Organisation,
    OrganisationKind,
    OutreachContact,
    Signal,
    Subject,
    Task,
    utcnow,
)

PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef-012345"
CONTACT_KEY = "test-contact-key-0123456789abcdef-0123456789"
KEYS = outreach.Keys(pseudonym_key=PSEUDONYM_KEY, contact_key=CONTACT_KEY)
BIRTH = date(1999, 4, 2)


@dataclass
class World:
    db: Session
    now: datetime
    care: Organisation  # A
    police: Organisation  # B
    coordinator: Actor  # A: care coordinator
    outreach_worker: Actor  # A: outreach worker (may reveal numbers)
    officer: Actor  # B: police officer
    shelter_worker: Actor  # A's partner shelter: no subjects.manage

    def subject(self, actor: Actor | None = None, alias: str = "Roos", **fields: object) -> Subject:
        draft = subjects.SubjectDraft(alias=alias, **fields)  # type: ignore[arg-type]
        return subjects.create_subject(
            self.db,
            actor or self.coordinator,
            draft,
            pseudonym_key=PSEUDONYM_KEY,
            contact_key=CONTACT_KEY,
            ip=None,
            now=self.now,
        )

    def person(self, actor: Actor, alias: str) -> Subject:
        """A subject registered with name and date of birth (so that the two match)."""
        return self.subject(
            actor,
            alias,
            phones=["06-94320911"],
            first_name="Sanne",
            surname="de Vries",
            birth_date=BIRTH,
        )

    def signal(
        self, actor: Actor | None = None, *, text: str, subject: Subject | None = None
    ) -> Signal:
        return signals.register(
            self.db,
            actor or self.coordinator,
            signals.SignalDraft(
                category="debt",
                municipality="Utrecht",
                observed_at=self.now - timedelta(hours=1),
                text=text,
                subject_id=subject.id if subject else None,
            ),
            pseudonym_key=PSEUDONYM_KEY,
            ip=None,
            now=self.now,
        )

    def closed_case(self, subject: Subject, actor: Actor | None = None, *, note: str = "") -> Case:
        who = actor or self.coordinator
        case = cases.open_case(self.db, who, subject_id=subject.id)
        if note:
            cases.record_assessment(self.db, who, case, answers={"dependency": "yes"}, notes=note)
        cases.move_stage(self.db, who, case, to_stage="closed", reason="Hulp afgerond")
        return case

    def contact(
        self, *, outcome: str = "Gesprek", subject: Subject | None = None, case: Case | None = None
    ) -> OutreachContact:
        return outreach.log_contact(
            self.db,
            self.coordinator,
            KEYS,
            kind="street",
            outcome=outcome,
            phone="06-94320912",
            subject_id=subject.id if subject else None,
            case_id=case.id if case else None,
            now=self.now,
        )

    def finished_task(self, *, subject: Subject | None = None, notes: str = "") -> Task:
        task = tasks.create_task(
            self.db,
            self.coordinator,
            title="Terugbellen",
            due_at=self.now + timedelta(days=1),
            subject_id=subject.id if subject else None,
            notes=notes,
            now=self.now,
        )
        return tasks.finish_task(self.db, self.coordinator, task)

    def request_to_care(
        self, theirs: Subject, message: str, *, answer: str | None = None
    ) -> ContactRequest:
        """A contact request of the police (B) about its subject to A, answered if ``answer``."""
        request = contact_requests.send(
            self.db, self.officer, theirs, self.care.id, message, ip=None, now=self.now
        )
        if answer is not None:
            contact_requests.answer(
                self.db, self.coordinator, request, "accepted", answer, ip=None, now=self.now
            )
        return request

    def refer(self, signal: Signal, question: str) -> None:
        referrals.refer(
            self.db,
            self.coordinator,
            referrals.ReferralDraft(
                to_organisation_id=self.police.id,
                question=question,
                basis="consent",
                purpose="Bescherming",
            ),
            signal=signal,
            ip=None,
            now=self.now,
        )


def make_world(db: Session) -> World:
    now = utcnow()
    care = accounts.create_organisation(
        db, name="Zorgcoördinatie Synthetisch", kind=OrganisationKind.CARE_COORDINATION
    )
    police = accounts.create_organisation(
        db, name="Politie Synthetisch", kind=OrganisationKind.POLICE
    )
    shelter = accounts.create_organisation(
        db, name="Opvang Synthetisch", kind=OrganisationKind.SHELTER
    )

    def user(org: Organisation, role: str, email: str) -> Actor:
        made = accounts.create_user(
            db,
            email=email,
            password="correct horse battery staple",
            display_name=email.split("@")[0],
            organisation=org,
            role=role,
        )
        db.flush()
        return actor_for(made)

    admin = user(care, "administrator", "beheer@care.example.test")
    world = World(
        db=db,
        now=now,
        care=care,
        police=police,
        coordinator=user(care, "care_coordinator", "coordinator@care.example.test"),
        outreach_worker=user(care, "outreach_worker", "outreach@care.example.test"),
        officer=user(police, "police_officer", "officer@police.example.test"),
        shelter_worker=user(shelter, "shelter_worker", "nacht@shelter.example.test"),
    )
    sharing.create_agreement(
        db,
        admin,
        sharing.AgreementDraft(
            name="Convenant Synthetisch",
            parties=[care.id, police.id],
            categories=["*"],
            purpose="Slachtoffers beschermen",
            legal_basis="Convenant art. 2",
            valid_from=now - timedelta(days=1),
            hit_no_hit=True,
        ),
        ip=None,
        now=now - timedelta(days=1),
    )
    db.flush()
    return world
