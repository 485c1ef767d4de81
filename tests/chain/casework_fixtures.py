"""Organisations, users and subjects for the case-work service tests (synthetic data only)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from signaal.chain import accounts
from signaal.chain.authz import Actor, actor_for
from signaal.chain.outreach import Keys
from signaal.privacy.masking import masked_contact
from signaal.privacy.pseudonyms import pseudonym
from signaal.store.models import Organisation, OrganisationKind, Subject, SubjectContact

KEYS = Keys(
    pseudonym_key="test-pseudonym-key-0123456789abcdef-012345",
    contact_key="test-contact-key-0123456789abcdef-0123456789",
)


@dataclass
class World:
    outreach: Organisation
    police: Organisation
    shelter_org: Organisation
    worker: Actor  # outreach worker
    colleague: Actor  # another outreach worker of the same organisation
    officer: Actor  # police officer
    shelter_worker: Actor
    subject: Subject


def actor(session: Session, organisation: Organisation, role: str, email: str) -> Actor:
    user = accounts.create_user(
        session, email=email, display_name=email.split("@")[0], organisation=organisation, role=role
    )
    session.flush()
    return actor_for(user)


def subject_of(session: Session, organisation: Organisation, alias: str = "Roos") -> Subject:
    subject = Subject(organisation_id=organisation.id, alias=alias, birth_year_from=2001)
    session.add(subject)
    session.flush()
    number = "+31612345678"
    session.add(
        SubjectContact(
            subject_id=subject.id,
            pseudonym=pseudonym("phone", number, KEYS.pseudonym_key),
            sealed="v1.synthetic",
            masked=masked_contact("phone", number),
        )
    )
    session.flush()
    return subject


def world(session: Session) -> World:
    outreach = accounts.create_organisation(
        session, name="Outreach Noord", kind=OrganisationKind.OUTREACH
    )
    police = accounts.create_organisation(
        session, name="Politie Noord", kind=OrganisationKind.POLICE
    )
    shelter_org = accounts.create_organisation(
        session, name="Opvang Noord", kind=OrganisationKind.SHELTER
    )
    session.flush()
    made = World(
        outreach=outreach,
        police=police,
        shelter_org=shelter_org,
        worker=actor(session, outreach, "outreach_worker", "worker@outreach.example.test"),
        colleague=actor(session, outreach, "outreach_worker", "colleague@outreach.example.test"),
        officer=actor(session, police, "police_officer", "officer@police.example.test"),
        shelter_worker=actor(session, shelter_org, "shelter_worker", "night@shelter.example.test"),
        subject=subject_of(session, outreach),
    )
    session.commit()
    return made
