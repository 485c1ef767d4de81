"""Signals: register one (a phone form, the ad monitor, an integration), list and read the ones
the actor may see, link one to a subject.

Validation is pure (:func:`clean_signal`, :func:`clean_phones`): every field is checked first and
all problems are raised together as :class:`~signaal.errors.FieldErrors`, before anything is
written. Contact points given with a signal are kept only as keyed pseudonyms, for matching: when
one matches a contact point of a subject of the *same* organisation the signal gets a
``suggested_subject_id``, which a person confirms (:func:`link_subject`) or dismisses; nothing is
linked automatically and nothing is matched across organisations.

Every read is audited (:mod:`signaal.chain.journal`), every change too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal import geo
from signaal.ads.contacts import phone_from_field
from signaal.chain import catalogue, journal, visibility
from signaal.chain.authz import Action, Actor, Resource, allowed
from signaal.errors import FieldErrors, NotFoundError, PermissionDenied
from signaal.privacy.pseudonyms import pseudonym
from signaal.store.models import (
    AnalysisPersona,
    AnalysisRun,
    Signal,
    SignalPersona,
    Subject,
    SubjectContact,
    utcnow,
)

MAX_TEXT = 4000
MAX_PHONES = 5
MAX_PERSONAS = 20
MAX_PHONE_INPUT = 40
# A phone's clock may run a little ahead; a signal from the future beyond that is a mistake.
FUTURE_SLACK = timedelta(minutes=10)
# Older than this is not a signal to act on but a typing error (a year 1024).
MAX_AGE = timedelta(days=5 * 366)
LIST_LIMIT = 50
MAX_LIST_LIMIT = 200


@dataclass(frozen=True)
class SignalDraft:
    """A signal as submitted (form, API, ad monitor), before validation."""

    category: str
    municipality: str
    observed_at: datetime | None
    text: str = ""
    source: str = "observation"
    subject_id: int | None = None
    phones: Sequence[str] = ()
    personas: Sequence[tuple[int, str]] = ()  # (run id, persona id)


@dataclass(frozen=True)
class CleanSignal:
    category: str
    source: str
    observed_at: datetime
    municipality: str
    region: str
    text: str
    subject_id: int | None
    phones: tuple[str, ...]  # canonical (E.164), only to pseudonymise
    personas: tuple[tuple[int, str], ...] = field(default_factory=tuple)


def clean_text(value: str, max_length: int) -> str | None:
    """The text stripped, or None when it is too long or holds a NUL or other control
    characters that no one types (tab and newline are fine)."""
    value = value.strip()
    if len(value) > max_length:
        return None
    if any(ord(char) < 32 and char not in "\t\n\r" for char in value):
        return None
    return value


def clean_phones(raw: Sequence[str], problems: dict[str, str], name: str = "phones") -> list[str]:
    """The canonical forms of the given phone numbers (empty entries skipped, duplicates once);
    a problem under ``name`` when one is not a phone number or there are too many."""
    found: list[str] = []
    for value in raw:
        value = value.strip()
        if not value:
            continue
        if len(value) > MAX_PHONE_INPUT or "\x00" in value:
            problems[name] = "not a phone number"
            return []
        parsed = phone_from_field(value)
        if parsed is None:
            problems[name] = "not a phone number"
            return []
        if parsed[0] not in found:
            found.append(parsed[0])
    if len(found) > MAX_PHONES:
        problems[name] = f"at most {MAX_PHONES} phone numbers"
        return []
    return found


def clean_signal(draft: SignalDraft, *, now: datetime) -> CleanSignal:
    """Check every field of ``draft``; FieldErrors naming each bad one (pure)."""
    problems: dict[str, str] = {}
    if draft.category not in catalogue.SIGNAL_CATEGORIES:
        problems["category"] = "unknown category"
    if draft.source not in catalogue.SIGNAL_SOURCES:
        problems["source"] = "unknown source"
    if draft.observed_at is None:
        problems["observed_at"] = "required"
    elif draft.observed_at.tzinfo is None:
        problems["observed_at"] = "needs a time zone"
    elif draft.observed_at > now + FUTURE_SLACK:
        problems["observed_at"] = "lies in the future"
    elif draft.observed_at < now - MAX_AGE:
        problems["observed_at"] = "more than five years ago"
    place = None
    if not draft.municipality.strip():
        problems["municipality"] = "required"
    elif len(draft.municipality) > 100:
        problems["municipality"] = "unknown municipality"
    else:
        place = geo.resolve_place(draft.municipality.strip())
        if place is None:
            problems["municipality"] = "unknown municipality"
    text = clean_text(draft.text, MAX_TEXT)
    if text is None:
        problems["text"] = f"at most {MAX_TEXT} characters, no control characters"
    if draft.subject_id is not None and not 0 < draft.subject_id < 2**31:
        problems["subject_id"] = "no such subject"
    phones = clean_phones(draft.phones, problems)
    personas = tuple(dict.fromkeys(draft.personas))
    if len(personas) > MAX_PERSONAS or any(
        not 0 < run < 2**31 or not persona or len(persona) > 100 for run, persona in personas
    ):
        problems["personas"] = "not a persona of a stored run"
    if problems:
        raise FieldErrors(problems)
    assert place is not None
    assert draft.observed_at is not None
    assert text is not None
    return CleanSignal(
        category=draft.category,
        source=draft.source,
        observed_at=draft.observed_at,
        municipality=place.name,
        region=place.province,
        text=text,
        subject_id=draft.subject_id,
        phones=tuple(phones),
        personas=personas,
    )


def phone_pseudonyms(phones: Sequence[str], pseudonym_key: str) -> list[str]:
    return [pseudonym("phone", phone, pseudonym_key) for phone in phones]


def pseudonyms_of(signal: Signal) -> list[str]:
    return [p for p in signal.contact_pseudonyms.split(",") if p]


def linkable_subject(db: Session, actor: Actor, subject_id: int) -> Subject | None:
    """The subject, if the actor may link records to it: it is of her own organisation."""
    subject = db.get(Subject, subject_id)
    if subject is None:
        return None
    owned = Resource("subject", str(subject.id), organisation_id=subject.organisation_id)
    return subject if allowed(actor, Action.MANAGE_SUBJECTS, owned) else None


def suggested_subject(db: Session, organisation_id: int, pseudonyms: Sequence[str]) -> int | None:
    """The first subject of ``organisation_id`` that has one of ``pseudonyms`` as contact
    point (never a subject of another organisation)."""
    if not pseudonyms:
        return None
    return db.scalar(
        select(Subject.id)
        .join(SubjectContact, SubjectContact.subject_id == Subject.id)
        .where(Subject.organisation_id == organisation_id, SubjectContact.pseudonym.in_(pseudonyms))
        .order_by(Subject.id)
        .limit(1)
    )


def register(
    db: Session,
    actor: Actor,
    draft: SignalDraft,
    *,
    pseudonym_key: str,
    ip: str | None,
    now: datetime | None = None,
) -> Signal:
    """Register a signal of the actor's organisation (signals.create)."""
    if not allowed(actor, Action.CREATE_SIGNALS):
        raise PermissionDenied("signals.create not allowed")
    now = now or utcnow()
    clean = clean_signal(draft, now=now)
    problems: dict[str, str] = {}
    if clean.subject_id is not None and linkable_subject(db, actor, clean.subject_id) is None:
        problems["subject_id"] = "no such subject"
    for run_id, persona_id in clean.personas:
        run = db.get(AnalysisRun, run_id)
        if (
            run is None
            or run.organisation_id != actor.organisation_id
            or db.get(AnalysisPersona, (run_id, persona_id)) is None
        ):
            problems["personas"] = "not a persona of a stored run"
    if problems:
        raise FieldErrors(problems)
    pseudonyms = phone_pseudonyms(clean.phones, pseudonym_key)
    signal = Signal(
        organisation_id=actor.organisation_id,
        source=clean.source,
        category=clean.category,
        observed_at=clean.observed_at,
        municipality=clean.municipality,
        region=clean.region,
        text=clean.text,
        subject_id=clean.subject_id,
        status="new",
        contact_pseudonyms=",".join(pseudonyms),
        created_at=now,
        created_by_user_id=actor.user_id,
        updated_at=now,
    )
    if clean.subject_id is None:
        signal.suggested_subject_id = suggested_subject(db, actor.organisation_id, pseudonyms)
    db.add(signal)
    db.flush()
    for run_id, persona_id in clean.personas:
        db.add(SignalPersona(signal_id=signal.id, run_id=run_id, persona_id=persona_id))
    db.flush()
    journal.written(
        db,
        actor,
        "signal",
        signal.id,
        "created",
        ip=ip,
        subject_id=signal.subject_id,
        fields={
            "category": signal.category,
            "source": signal.source,
            "municipality": signal.municipality,
            "n_phones": len(pseudonyms),
            "n_personas": len(clean.personas),
            "suggested": signal.suggested_subject_id is not None,
        },
    )
    return signal


@dataclass(frozen=True)
class SignalFilter:
    status: str | None = None
    category: str | None = None
    municipality: str | None = None
    own_only: bool = False


def visible_signals(
    db: Session,
    actor: Actor,
    *,
    filters: SignalFilter | None = None,
    limit: int = LIST_LIMIT,
    before_id: int | None = None,
    ip: str | None,
    view: str = "list",
    now: datetime | None = None,
) -> list[Signal]:
    """The signals the actor may see, newest first (``before_id`` pages on), audited as one
    list read."""
    if not allowed(actor, Action.VIEW_SIGNALS):
        raise PermissionDenied("signals.view not allowed")
    now = now or utcnow()
    filters = filters or SignalFilter()
    query = select(Signal).where(visibility.visible_clause(actor, Signal, now=now))
    if filters.status:
        query = query.where(Signal.status == filters.status)
    if filters.category:
        query = query.where(Signal.category == filters.category)
    if filters.municipality:
        query = query.where(Signal.municipality == filters.municipality)
    if filters.own_only:
        query = query.where(Signal.organisation_id == actor.organisation_id)
    if before_id is not None:
        query = query.where(Signal.id < before_id)
    rows = list(db.scalars(query.order_by(Signal.id.desc()).limit(min(limit, MAX_LIST_LIMIT))))
    journal.read_list(
        db,
        actor,
        "signal",
        rows,
        ip=ip,
        view=view,
        subject_of={s.id: s.subject_id for s in rows},
        now=now,
    )
    return rows


def open_signal(db: Session, actor: Actor, signal: Signal, *, ip: str | None) -> Signal:
    """A signal the actor may see (signals.view on it), its read audited."""
    if not allowed(actor, Action.VIEW_SIGNALS, visibility.resource_for(db, actor, signal)):
        raise NotFoundError("no such signal")
    journal.read(db, actor, signal, subject_id=signal.subject_id, ip=ip)
    return signal


def find_signal(db: Session, actor: Actor, signal_id: int) -> Signal:
    """The signal ``signal_id`` if the actor may see it, else NotFoundError (the same answer
    as for an id that names no signal)."""
    signal = db.get(Signal, signal_id) if 0 < signal_id < 2**31 else None
    if signal is None or not allowed(
        actor, Action.VIEW_SIGNALS, visibility.resource_for(db, actor, signal)
    ):
        raise NotFoundError("no such signal")
    return signal


def personas_of(db: Session, signal: Signal) -> list[SignalPersona]:
    return list(
        db.scalars(
            select(SignalPersona)
            .where(SignalPersona.signal_id == signal.id)
            .order_by(SignalPersona.run_id, SignalPersona.persona_id)
        )
    )


def _owned(signal: Signal) -> Resource:
    """The signal as a record to change: only its own organisation may (no shares apply)."""
    return Resource("signal", str(signal.id), organisation_id=signal.organisation_id)


def link_subject(
    db: Session,
    actor: Actor,
    signal: Signal,
    subject_id: int,
    *,
    ip: str | None,
    now: datetime | None = None,
) -> Signal:
    """Link the signal to a subject of the own organisation (a confirmed suggestion or a
    person's choice)."""
    if not allowed(actor, Action.MANAGE_SUBJECTS, _owned(signal)):
        raise NotFoundError("no such signal")
    subject = linkable_subject(db, actor, subject_id)
    if subject is None:
        raise FieldErrors({"subject_id": "no such subject"})
    confirmed = signal.suggested_subject_id == subject.id
    signal.subject_id = subject.id
    signal.suggested_subject_id = None
    signal.updated_at = now or utcnow()
    db.flush()
    journal.written(
        db,
        actor,
        "signal",
        signal.id,
        "subject_linked",
        ip=ip,
        subject_id=subject.id,
        fields={"subject_id": subject.id, "confirmed_suggestion": confirmed},
    )
    return signal


def dismiss_suggestion(
    db: Session, actor: Actor, signal: Signal, *, ip: str | None, now: datetime | None = None
) -> Signal:
    """A person says the suggested subject is not the one: the suggestion is dropped."""
    if not allowed(actor, Action.MANAGE_SUBJECTS, _owned(signal)):
        raise NotFoundError("no such signal")
    if signal.suggested_subject_id is None:
        raise FieldErrors({"suggested_subject_id": "no suggestion to dismiss"})
    dismissed = signal.suggested_subject_id
    signal.suggested_subject_id = None
    signal.updated_at = now or utcnow()
    db.flush()
    journal.written(
        db,
        actor,
        "signal",
        signal.id,
        "suggestion_dismissed",
        ip=ip,
        fields={"suggested_subject_id": dismissed},
    )
    return signal
