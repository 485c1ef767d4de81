"""Subjects: the pseudonymous persons signals and referrals are about.

A subject is an alias, a year-of-birth range and contact points kept three ways: a keyed
pseudonym (to match signals of the same organisation), the sealed value (AES-GCM, opened only
for :func:`reveal_phone`) and the masked form (``06-•••••89``, the only one shown). Never a name
or a number in the clear, except a phone revealed on screen to a role with ``contacts.reveal``
for a stated purpose, audited.

A first name, surname and birth date given at registration are not stored either: only their
keyed Bloom-filter encoding (:mod:`signaal.chain.matching`), for hit/no-hit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from signaal.chain import journal, matching, remote_matching, visibility
from signaal.chain.authz import Action, Actor, Resource, allowed
from signaal.chain.signals import clean_phones, clean_text, link_subject, phone_pseudonyms
from signaal.errors import FieldErrors, NotFoundError, PermissionDenied
from signaal.privacy.masking import masked_contact
from signaal.privacy.matching import Matcher, Person
from signaal.privacy.sealing import Sealer
from signaal.store.models import Referral, Signal, Subject, SubjectContact, utcnow

MAX_ALIAS = 120
MAX_NAME = 120
OLDEST_AGE = 100
YOUNGEST_AGE = 10
# Why someone needs a subject's phone number in the clear. The key is what the audit keeps.
REVEAL_PURPOSES: tuple[str, ...] = ("call_back", "protection", "check_reading", "partner_question")


@dataclass(frozen=True)
class SubjectDraft:
    alias: str
    birth_year_from: int | None = None
    birth_year_to: int | None = None
    phones: Sequence[str] = ()
    # Encoded for hit/no-hit and then forgotten; never stored in the clear.
    first_name: str = ""
    surname: str = ""
    birth_date: date | None = None


@dataclass(frozen=True)
class CleanSubject:
    alias: str
    birth_year_from: int | None
    birth_year_to: int | None
    phones: tuple[str, ...]
    person: Person | None = None


def clean_subject(draft: SubjectDraft, *, now: datetime) -> CleanSubject:
    """Check every field (pure): an alias, plausible birth years with from <= to, phones."""
    problems: dict[str, str] = {}
    alias = clean_text(draft.alias, MAX_ALIAS)
    if alias is None or "\n" in alias:
        problems["alias"] = f"at most {MAX_ALIAS} characters on one line"
    elif not alias:
        problems["alias"] = "required"
    low, high = now.year - OLDEST_AGE, now.year - YOUNGEST_AGE
    for name, year in (
        ("birth_year_from", draft.birth_year_from),
        ("birth_year_to", draft.birth_year_to),
    ):
        if year is not None and not low <= year <= high:
            problems[name] = f"a year between {low} and {high}"
    if (
        draft.birth_year_from is not None
        and draft.birth_year_to is not None
        and "birth_year_from" not in problems
        and "birth_year_to" not in problems
        and draft.birth_year_from > draft.birth_year_to
    ):
        problems["birth_year_to"] = "not before the first year"
    phones = clean_phones(draft.phones, problems)
    names = {}
    for name, value in (("first_name", draft.first_name), ("surname", draft.surname)):
        cleaned = clean_text(value, MAX_NAME)
        if cleaned is None or "\n" in cleaned:
            problems[name] = f"at most {MAX_NAME} characters on one line"
        names[name] = cleaned or ""
    if draft.birth_date is not None and not low <= draft.birth_date.year <= high:
        problems["birth_date"] = f"a date between {low} and {high}"
    if problems:
        raise FieldErrors(problems)
    assert alias is not None
    person = None
    if draft.birth_date is not None and (names["first_name"] or names["surname"]):
        first_phone = phones[0] if phones else ""
        person = Person(names["first_name"], names["surname"], draft.birth_date, first_phone)
    return CleanSubject(
        alias, draft.birth_year_from, draft.birth_year_to, tuple(phones), person=person
    )


def seal_context(subject_id: int, name: str) -> str:
    """What a subject's sealed phone is bound to (never opens as another row's or a run's)."""
    return f"subject:{subject_id}:{name}"


def _owned(subject: Subject) -> Resource:
    return Resource("subject", str(subject.id), organisation_id=subject.organisation_id)


def _add_phones(
    db: Session, subject: Subject, phones: Sequence[str], *, pseudonym_key: str, sealer: Sealer
) -> int:
    existing = {c.pseudonym for c in contacts_of(db, subject)}
    added = 0
    for phone, name in zip(phones, phone_pseudonyms(phones, pseudonym_key), strict=True):
        if name in existing:
            continue
        db.add(
            SubjectContact(
                subject_id=subject.id,
                pseudonym=name,
                kind="phone",
                sealed=sealer.seal(phone, run_id=0, pseudonym=seal_context(subject.id, name)),
                masked=masked_contact("phone", phone),
            )
        )
        added += 1
    return added


def create_subject(
    db: Session,
    actor: Actor,
    draft: SubjectDraft,
    *,
    pseudonym_key: str,
    contact_key: str,
    ip: str | None,
    from_signal: Signal | None = None,
    now: datetime | None = None,
    remote: remote_matching.RemoteMatching | None = None,
) -> Subject:
    """Create a subject of the actor's organisation (subjects.manage); with ``from_signal``
    (of the own organisation) the signal is linked to it."""
    subject, _ = register_subject(
        db,
        actor,
        draft,
        pseudonym_key=pseudonym_key,
        contact_key=contact_key,
        ip=ip,
        from_signal=from_signal,
        now=now,
        remote=remote,
    )
    return subject


def register_subject(
    db: Session,
    actor: Actor,
    draft: SubjectDraft,
    *,
    pseudonym_key: str,
    contact_key: str,
    ip: str | None,
    from_signal: Signal | None = None,
    now: datetime | None = None,
    remote: remote_matching.RemoteMatching | None = None,
) -> tuple[Subject, list[matching.Hit]]:
    """:func:`create_subject`, and the hits of its encoding (:func:`matching.hits`): other
    organisations under a hit/no-hit agreement that hold the same person. With ``remote`` (the
    match service's settings) her encodings under the shared secrets are queued for the match
    service too (:func:`remote_matching.enrol`); its hits come with a later sync."""
    if not allowed(actor, Action.MANAGE_SUBJECTS):
        raise PermissionDenied("subjects.manage not allowed")
    now = now or utcnow()
    clean = clean_subject(draft, now=now)
    if from_signal is not None and not allowed(
        actor,
        Action.MANAGE_SUBJECTS,
        Resource("signal", str(from_signal.id), organisation_id=from_signal.organisation_id),
    ):
        raise NotFoundError("no such signal")
    subject = Subject(
        organisation_id=actor.organisation_id,
        alias=clean.alias,
        birth_year_from=clean.birth_year_from,
        birth_year_to=clean.birth_year_to,
        created_at=now,
        created_by_user_id=actor.user_id,
        updated_at=now,
    )
    db.add(subject)
    db.flush()
    n_phones = _add_phones(
        db, subject, clean.phones, pseudonym_key=pseudonym_key, sealer=Sealer(contact_key)
    )
    db.flush()
    encoding = Matcher(pseudonym_key).encode(clean.person) if clean.person is not None else None
    remote_queued = 0
    if encoding is not None and clean.person is not None:
        matching.save_encoding(db, subject, encoding)
        remote_queued = remote_matching.enrol(db, subject, clean.person, remote)
    journal.written(
        db,
        actor,
        "subject",
        subject.id,
        "created",
        ip=ip,
        subject_id=subject.id,
        fields={
            "birth_years": clean.birth_year_from is not None or clean.birth_year_to is not None,
            "n_phones": n_phones,
            "encoded": clean.person is not None,
            "remote_purposes": remote_queued,
            "from_signal": from_signal.id if from_signal is not None else None,
        },
    )
    if from_signal is not None:
        link_subject(db, actor, from_signal, subject.id, ip=ip, now=now)
    found = matching.hits(db, actor, subject, encoding, ip=ip, now=now) if encoding else []
    return subject, found


def update_subject(
    db: Session,
    actor: Actor,
    subject: Subject,
    draft: SubjectDraft,
    *,
    pseudonym_key: str,
    contact_key: str,
    ip: str | None,
    now: datetime | None = None,
) -> Subject:
    """Change alias and birth years and add phones (subjects.manage, own organisation)."""
    if not allowed(actor, Action.MANAGE_SUBJECTS, _owned(subject)):
        raise NotFoundError("no such subject")
    now = now or utcnow()
    clean = clean_subject(draft, now=now)
    changed = [
        name
        for name, old, new in (
            ("alias", subject.alias, clean.alias),
            ("birth_year_from", subject.birth_year_from, clean.birth_year_from),
            ("birth_year_to", subject.birth_year_to, clean.birth_year_to),
        )
        if old != new
    ]
    subject.alias = clean.alias
    subject.birth_year_from = clean.birth_year_from
    subject.birth_year_to = clean.birth_year_to
    subject.updated_at = now
    added = _add_phones(
        db, subject, clean.phones, pseudonym_key=pseudonym_key, sealer=Sealer(contact_key)
    )
    db.flush()
    journal.written(
        db,
        actor,
        "subject",
        subject.id,
        "updated",
        ip=ip,
        subject_id=subject.id,
        fields={"changed": changed, "n_phones_added": added},
    )
    return subject


def contacts_of(db: Session, subject: Subject) -> list[SubjectContact]:
    return list(
        db.scalars(
            select(SubjectContact)
            .where(SubjectContact.subject_id == subject.id)
            .order_by(SubjectContact.added_at, SubjectContact.pseudonym)
        )
    )


def open_subject(db: Session, actor: Actor, subject: Subject, *, ip: str | None) -> Subject:
    if not allowed(actor, Action.VIEW_SUBJECTS, visibility.resource_for(db, actor, subject)):
        raise NotFoundError("no such subject")
    journal.read(db, actor, subject, subject_id=subject.id, ip=ip)
    return subject


def find_subject(db: Session, actor: Actor, subject_id: int) -> Subject:
    subject = db.get(Subject, subject_id) if 0 < subject_id < 2**31 else None
    if subject is None or not allowed(
        actor, Action.VIEW_SUBJECTS, visibility.resource_for(db, actor, subject)
    ):
        raise NotFoundError("no such subject")
    return subject


def visible_subjects(
    db: Session,
    actor: Actor,
    *,
    limit: int = 50,
    before_id: int | None = None,
    ip: str | None,
    now: datetime | None = None,
) -> list[Subject]:
    if not allowed(actor, Action.VIEW_SUBJECTS):
        raise PermissionDenied("subjects.view not allowed")
    query = select(Subject).where(visibility.visible_clause(actor, Subject, now=now))
    if before_id is not None:
        query = query.where(Subject.id < before_id)
    rows = list(db.scalars(query.order_by(Subject.id.desc()).limit(min(limit, 200))))
    journal.read_list(
        db, actor, "subject", rows, ip=ip, view="list", subject_of={s.id: s.id for s in rows}
    )
    return rows


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # signal | referral
    record_id: int
    code: str  # the signal's category or the referral's kind
    state: str  # the signal's status or the referral's state
    organisation_id: int


def timeline(
    db: Session, actor: Actor, subject: Subject, *, now: datetime | None = None
) -> list[TimelineEntry]:
    """The subject's signals and referrals that the actor may see, newest first (read with
    the subject's detail, whose read is audited)."""
    now = now or utcnow()
    signals = db.scalars(
        select(Signal).where(
            Signal.subject_id == subject.id, visibility.visible_clause(actor, Signal, now=now)
        )
    )
    entries = [
        TimelineEntry(s.observed_at, "signal", s.id, s.category, s.status, s.organisation_id)
        for s in signals
    ]
    referrals = db.scalars(
        select(Referral).where(
            Referral.subject_id == subject.id,
            or_(
                Referral.organisation_id == actor.organisation_id,
                Referral.to_organisation_id == actor.organisation_id,
            ),
        )
    )
    entries += [
        TimelineEntry(r.created_at, "referral", r.id, r.kind, r.state, r.organisation_id)
        for r in referrals
    ]
    return sorted(entries, key=lambda e: (e.at, e.kind, e.record_id), reverse=True)


def reveal_phone(
    db: Session,
    actor: Actor,
    subject: Subject,
    name: str,
    purpose: str,
    *,
    contact_key: str,
    ip: str | None,
) -> str:
    """One phone of the subject in the clear, for ``purpose`` (one of :data:`REVEAL_PURPOSES`),
    audited with it: only for a role with contacts.reveal of the subject's own organisation."""
    if not allowed(actor, Action.REVEAL_CONTACTS, _owned(subject)) or not allowed(
        actor, Action.VIEW_SUBJECTS, _owned(subject)
    ):
        raise PermissionDenied("contacts.reveal on subjects not allowed")
    if purpose not in REVEAL_PURPOSES:
        raise FieldErrors({"purpose": "choose why you need this number"})
    contact = db.get(SubjectContact, (subject.id, name))
    if contact is None:
        raise NotFoundError("no such contact point")
    value = Sealer(contact_key).open(
        contact.sealed, run_id=0, pseudonym=seal_context(subject.id, name)
    )
    journal.record_read(
        db,
        actor,
        kind="subject_contact",
        key=subject.id,
        subject_id=subject.id,
        basis="own",
        purpose=purpose,
        ip=ip,
        view=f"reveal {name}",
    )
    return value
