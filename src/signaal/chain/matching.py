"""Encodings of subjects for hit/no-hit within one deployment: store them, find the others.

A subject's identifying fields (first name, surname, birth date, phone) are encoded with
:class:`signaal.privacy.matching.Matcher` when they are registered and only the keyed filters are
stored (``subject_encodings``, with the blocking keys in ``subject_encoding_blocks``). A new
encoding is compared only with the stored ones that share a blocking key.

Not built yet (docs/matching.md, "Next steps"): the filter on sharing agreements that cover
hit/no-hit, the ``hits`` of the subject and signal answers, contact requests, their actions in
roles.json and their audit events. :func:`organisations_holding` is the lookup those will use;
it reveals nothing by itself and is not exposed to users.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from signaal.privacy.bloom import from_bytes, to_bytes
from signaal.privacy.matching import MATCH_THRESHOLD, Encoding, is_match
from signaal.store.models import Subject, SubjectEncoding, SubjectEncodingBlock

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


def organisations_holding(
    db: Session,
    subject: Subject,
    encoding: Encoding,
    *,
    purpose: str = HIT_PURPOSE,
    threshold: float = MATCH_THRESHOLD,
) -> set[int]:
    """The other organisations that hold a subject matching ``encoding`` (their ids only)."""
    if not encoding.blocks:
        return set()
    candidates = (
        select(SubjectEncodingBlock.subject_id)
        .where(
            SubjectEncodingBlock.purpose == purpose,
            SubjectEncodingBlock.block.in_(sorted(set(encoding.blocks))),
        )
        .distinct()
    )
    rows = db.scalars(
        select(SubjectEncoding).where(
            SubjectEncoding.purpose == purpose,
            SubjectEncoding.subject_id.in_(candidates),
            SubjectEncoding.organisation_id != subject.organisation_id,
        )
    )
    return {row.organisation_id for row in rows if is_match(encoding, _encoding(row), threshold)}
