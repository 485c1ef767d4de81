"""Encodings of subjects for hit/no-hit within one deployment: store them, find the others.

A subject's identifying fields (first name, surname, birth date, phone) are encoded with
:class:`signaal.privacy.matching.Matcher` when they are registered and only the keyed filters are
stored (``subject_encodings``, with the blocking keys in ``subject_encoding_blocks``). A new
encoding is compared only with the stored ones that share a blocking key.

:func:`hits` is what a registering organisation learns: for each other organisation that holds
a matching subject *and* shares an agreement in force that covers hit/no-hit, its name and
contact route, nothing else (no record, category or date). Each disclosure is audited.

A signal's hits are its subject's (:func:`hits_of_subject`). Either side of a hit can ask the
other to get in touch (:mod:`signaal.chain.contact_requests`); :func:`matching_subjects` finds,
for that, the other side's matching subjects, which only that side ever sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from signaal.chain import journal, remote_matching
from signaal.chain.authz import Actor
from signaal.privacy.bloom import from_bytes, to_bytes
from signaal.privacy.matching import MATCH_THRESHOLD, Encoding, is_match
from signaal.store.models import (
    Agreement,
    AgreementParty,
    Organisation,
    Subject,
    SubjectEncoding,
    SubjectEncodingBlock,
)

HIT_PURPOSE = "hit-no-hit"
_FILTERS = ("first_name", "surname", "birth_date", "birth_date_variants", "phone")


def save_encoding(
    db: Session, subject: Subject, encoding: Encoding, *, purpose: str = HIT_PURPOSE
) -> None:
    """Store (or replace) the subject's encoding for ``purpose``."""
    db.execute(
        delete(SubjectEncodingBlock).where(
            SubjectEncodingBlock.subject_id == subject.id, SubjectEncodingBlock.purpose == purpose
        )
    )
    db.execute(
        delete(SubjectEncoding).where(
            SubjectEncoding.subject_id == subject.id, SubjectEncoding.purpose == purpose
        )
    )
    row = SubjectEncoding(
        subject_id=subject.id, purpose=purpose, organisation_id=subject.organisation_id
    )
    for name in _FILTERS:
        value = getattr(encoding, name)
        setattr(row, name, to_bytes(value) if value else None)
    db.add(row)
    db.add_all(
        SubjectEncodingBlock(block=block, purpose=purpose, subject_id=subject.id)
        for block in sorted(set(encoding.blocks))
    )
    db.flush()


def _encoding(row: SubjectEncoding) -> Encoding:
    values = {name: from_bytes(getattr(row, name) or b"") for name in _FILTERS}
    return Encoding(blocks=(), **values)


def _matching_rows(
    db: Session,
    subject: Subject,
    encoding: Encoding,
    *,
    purpose: str,
    threshold: float,
    organisation_id: int | None = None,
) -> list[SubjectEncoding]:
    """The stored encodings of other organisations' subjects (of ``organisation_id`` only, when
    given) that match ``encoding``."""
    if not encoding.blocks:
        return []
    candidates = (
        select(SubjectEncodingBlock.subject_id)
        .where(
            SubjectEncodingBlock.purpose == purpose,
            SubjectEncodingBlock.block.in_(sorted(set(encoding.blocks))),
        )
        .distinct()
    )
    query = select(SubjectEncoding).where(
        SubjectEncoding.purpose == purpose,
        SubjectEncoding.subject_id.in_(candidates),
        SubjectEncoding.organisation_id != subject.organisation_id,
    )
    if organisation_id is not None:
        query = query.where(SubjectEncoding.organisation_id == organisation_id)
    rows = db.scalars(query.order_by(SubjectEncoding.subject_id))
    return [row for row in rows if is_match(encoding, _encoding(row), threshold)]


def organisations_holding(
    db: Session,
    subject: Subject,
    encoding: Encoding,
    *,
    purpose: str = HIT_PURPOSE,
    threshold: float = MATCH_THRESHOLD,
) -> set[int]:
    """The other organisations that hold a subject matching ``encoding`` (their ids only)."""
    rows = _matching_rows(db, subject, encoding, purpose=purpose, threshold=threshold)
    return {row.organisation_id for row in rows}


def matching_subjects(
    db: Session,
    subject: Subject,
    organisation_id: int,
    *,
    now: datetime,
    purpose: str = HIT_PURPOSE,
    threshold: float = MATCH_THRESHOLD,
) -> list[int]:
    """The ids of ``organisation_id``'s subjects that match ``subject``'s stored encoding, when
    the two organisations share an agreement in force covering hit/no-hit (else none). For the
    other side's eyes only: never shown to the organisation of ``subject``."""
    encoding = stored_encoding(db, subject, purpose=purpose)
    if encoding is None or organisation_id not in agreed_with(db, subject.organisation_id, now):
        return []
    rows = _matching_rows(
        db,
        subject,
        encoding,
        purpose=purpose,
        threshold=threshold,
        organisation_id=organisation_id,
    )
    return [row.subject_id for row in rows]


@dataclass(frozen=True)
class Hit:
    """What a hit reveals: another organisation (its id, to ask it to get in touch), its name
    and how to reach it. A hit from the match service (another deployment,
    :mod:`signaal.chain.remote_matching`) has no ``organisation_id``: that organisation is not
    in this store, it is reached through its contact route."""

    organisation: str
    contact_route: str | None
    organisation_id: int | None


def agreed_with(db: Session, organisation_id: int, now: datetime) -> set[int]:
    """Organisations that share an agreement in force covering hit/no-hit with this one."""
    mine = select(AgreementParty.agreement_id).where(
        AgreementParty.organisation_id == organisation_id
    )
    rows = db.execute(
        select(AgreementParty.organisation_id)
        .join(Agreement, Agreement.id == AgreementParty.agreement_id)
        .where(
            Agreement.id.in_(mine),
            Agreement.hit_no_hit.is_(True),
            Agreement.revoked_at.is_(None),
            Agreement.valid_from <= now,
            (Agreement.valid_until.is_(None)) | (Agreement.valid_until > now),
        )
    )
    return {row[0] for row in rows} - {organisation_id}


def hits(
    db: Session,
    actor: Actor,
    subject: Subject,
    encoding: Encoding,
    *,
    ip: str | None,
    now: datetime,
) -> list[Hit]:
    """The hits of a subject of ``actor``'s organisation (audited when any): the organisations
    of this deployment that hold a matching subject, then those of other deployments that the
    match service reported (:func:`remote_matching.remote_hits_of`)."""
    holding = organisations_holding(db, subject, encoding) & agreed_with(
        db, subject.organisation_id, now
    )
    remote = remote_matching.remote_hits_of(db, subject)
    if not holding and not remote:
        return []
    organisations = db.scalars(
        select(Organisation).where(Organisation.id.in_(sorted(holding))).order_by(Organisation.name)
    ).all()
    fields: dict[str, object] = {"organisations": [o.id for o in organisations]}
    if remote:
        fields["remote"] = [r.organisation for r in remote]
    journal.written(
        db, actor, "subject", subject.id, "hits", ip=ip, subject_id=subject.id, fields=fields
    )
    found = [Hit(o.name, o.contact_route, o.id) for o in organisations]
    return found + [Hit(r.organisation, r.contact_route, None) for r in remote]


def stored_encoding(
    db: Session, subject: Subject, *, purpose: str = HIT_PURPOSE
) -> Encoding | None:
    """The subject's stored encoding with its blocking keys, or None when it has none."""
    row = db.get(SubjectEncoding, (subject.id, purpose))
    if row is None:
        return None
    blocks = db.scalars(
        select(SubjectEncodingBlock.block).where(
            SubjectEncodingBlock.subject_id == subject.id, SubjectEncodingBlock.purpose == purpose
        )
    ).all()
    values = {name: from_bytes(getattr(row, name) or b"") for name in _FILTERS}
    return Encoding(blocks=tuple(sorted(blocks)), **values)


def hits_of_subject(
    db: Session, actor: Actor, subject: Subject, *, ip: str | None, now: datetime
) -> list[Hit]:
    """:func:`hits` of a subject of the actor's organisation from its stored encoding (a signal
    registered about it); none when it has no encoding or belongs to another organisation."""
    if subject.organisation_id != actor.organisation_id:
        return []
    encoding = stored_encoding(db, subject)
    return hits(db, actor, subject, encoding, ip=ip, now=now) if encoding else []
