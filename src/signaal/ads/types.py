"""The vocabulary of the ads pipeline, defined once and used by every stage.

Stages are pure functions from these values to these values (see ``pipeline.py``):

    read       -> AdRecord (+ Quarantined for bad input)
    normalise  AdRecord -> NormalisedAd
    indicators NormalisedAd -> tuple[IndicatorHit, ...] per ad
    photos     image files -> PhotoHash per image (an adapter: it reads files)
    link       NormalisedAd + hits + photo hashes -> Linkage (links, personas, networks)
    movement   NormalisedAd + Linkage -> MovementResult
    risk       everything above + weights -> RiskResult (scores with reasons)

Everything here is plain, immutable and picklable (no open files, no connections), so that an
engine other than the in-process one (Spark) can ship values between workers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from itertools import repeat
from operator import attrgetter

from signaal.ads.records import AdRecord


class ContactKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    HANDLE = "handle"
    WEBSITE = "website"


@dataclass(frozen=True, slots=True)
class ContactPoint:
    """A canonical contact point found in an ad.

    ``value`` is canonical (E.164 for phones, lower-cased for e-mails, ``service:name`` for
    handles). ``source`` says where it was found: a record field or the text; ``obscured`` is true
    when the text hid it (spaced digits, letter O for zero, digits as words).
    """

    kind: ContactKind
    value: str
    source: str  # "field" | "text" | "title"
    obscured: bool = False
    span: tuple[int, int] | None = None  # character span in the text or title it came from


@dataclass(frozen=True, slots=True)
class NormalisedAd:
    """An ad record with canonical values beside the original (the original is never changed)."""

    record: AdRecord
    posted_at: datetime  # timezone-aware, UTC
    contacts: tuple[ContactPoint, ...]
    municipality: str | None  # canonical municipality name, None when unknown
    age: int | None
    price_per_hour: float | None  # euro, derived from the prices object
    language: str  # "nl" | "en" | "mixed" | "unknown"
    problems: tuple[str, ...] = ()  # non-fatal notes, e.g. "city 'Atlantis' not recognised"
    # An age stated in the text ("22 jaar", "19 years") with its span in the text; used for the
    # age when the field is empty, and to notice a field that contradicts the text (B02).
    age_in_text: int | None = None
    age_in_text_span: tuple[int, int] | None = None

    @property
    def id(self) -> str:
        return self.record.id

    def contact_values(self, kind: ContactKind) -> tuple[str, ...]:
        return tuple(sorted({c.value for c in self.contacts if c.kind is kind}))


@dataclass(frozen=True, slots=True)
class IndicatorHit:
    """One indicator found in one ad, with its evidence."""

    indicator_id: str  # e.g. "A05"
    family: str  # "A" | "B" | "C" | "D" | "E"
    weight: float
    field: str  # "text" | "title" | "age" | ... where the evidence is
    span: tuple[int, int] | None  # character span in that field, None for field-level cues
    evidence: str  # the matched text (contact points in it masked) or the field value


def hits_per_ad(
    hits: Mapping[str, tuple[IndicatorHit, ...]], ad_ids: Sequence[str]
) -> Iterable[tuple[IndicatorHit, ...]]:
    """The hits of each ad in ``ad_ids``, in that order (none for an ad without an entry).

    The pipeline's hits hold one entry per ad in input order: then they are used as they are,
    without a lookup per ad.
    """
    if len(hits) == len(ad_ids) and list(hits) == list(ad_ids):
        return hits.values()
    no_hits: tuple[IndicatorHit, ...] = ()
    return map(hits.get, ad_ids, repeat(no_hits))


@dataclass(frozen=True, slots=True)
class PhotoHash:
    """A perceptual hash of one image (PDQ: 256 bits as 64 hex characters) and its quality."""

    path: str  # as written in the ad record's images list
    pdq: str
    quality: int


class LinkKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    HANDLE = "handle"
    PHOTO = "photo"
    TEXT = "text"
    NAME = "name"  # same advertised name and matching profile on the same contact point


@dataclass(frozen=True, slots=True)
class Link:
    """Evidence that two ads are related; ``ad_id_a < ad_id_b``. Every link keeps its reason."""

    ad_id_a: str
    ad_id_b: str
    kind: LinkKind
    evidence: str  # e.g. a pseudonymised phone, "pdq distance 12", "text jaccard 0.87"


@dataclass(frozen=True, slots=True)
class SharedEvidence:
    """One thing (a contact point, a photo, a text template) used by several personas.

    ``key`` is a pseudonym for contact points (never the value itself), ``photo:<n>`` or
    ``template:<n>`` for clusters. ``joins_network`` is false for evidence that does not link
    personas into a network on its own (a photo shared without any other link: stolen photos).
    """

    kind: LinkKind
    key: str
    personas: tuple[str, ...]  # sorted persona ids
    ad_ids: tuple[str, ...]  # one example ad per persona, in the order of ``personas``
    joins_network: bool = True
    first_persona: str | None = None  # the persona that used it first (the photo's owner)


@dataclass(frozen=True, slots=True)
class Linkage:
    """Output of the link stage: links, and every ad assigned to a persona and a network."""

    links: tuple[Link, ...]
    persona_of_ad: dict[str, str]  # ad id -> persona id
    network_of_persona: dict[str, str]  # persona id -> network id (a persona alone is its own)
    network_reasons: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Evidence shared across personas, per persona id (the same object under every persona).
    shared: dict[str, tuple[SharedEvidence, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Movement:
    """A persona advertised in a new municipality."""

    persona_id: str
    network_id: str
    from_municipality: str | None  # None for the first appearance
    to_municipality: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MovementEvent:
    """A movement pattern that counts as an indicator (D01-D04) for a persona or network."""

    indicator_id: str  # "D01" | "D02" | "D03" | "D04" (D03 needs A05 hits: risk adds them)
    subject_id: str  # persona or network id
    text: str  # explained, e.g. "3 municipalities in 30 days: Utrecht, Zeist, Ede (...)"
    municipalities: tuple[str, ...] = ()
    ad_ids: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    #: The numbers in ``text`` by name ("municipalities", "days", "personas", ...), so that a
    #: reason can be explained in other words and languages (``signaal.ads.explain``).
    figures: tuple[tuple[str, int | float], ...] = ()


@dataclass(frozen=True, slots=True)
class MovementResult:
    movements: tuple[Movement, ...]
    municipalities_of_persona: dict[str, tuple[str, ...]]  # in order of first appearance
    municipalities_of_network: dict[str, tuple[str, ...]]
    events: dict[str, tuple[str, ...]]  # persona or network id -> explained events
    #: The events that are indicators, per persona or network id (their texts are in ``events``).
    indicators: dict[str, tuple[MovementEvent, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReasonFacts:
    """What one reason is made of, as data: the renderer (``signaal.ads.explain``) turns it into
    sentences a non-analyst reads, in Dutch or English. ``Reason.text`` says the same for
    analysts; the facts never hold a clear contact point (``contact`` is a pseudonym, ``masked``
    its masked form, which the output tables fill in because only they know the values).

    ``kind`` is one of :data:`REASON_KINDS`; which of the other fields are set depends on it.
    """

    kind: str
    #: Named numbers: "personas", "municipalities", "days", "active_days", "window_days", ...
    figures: tuple[tuple[str, int | float], ...] = ()
    ad_ids: tuple[str, ...] = ()  # example ads of the evidence
    ad_id: str | None = None  # the ad a cue of a persona's or network's score was found in
    field: str | None = None  # where in that ad: "text", "title", "age", "ad", ...
    evidence: str | None = None  # the matched words (contact points masked) or field value
    contact: str | None = None  # pseudonym of a shared contact point (``phone:3f9a…``)
    contact_kind: str | None = None  # phone, email, handle, website
    masked: str | None = None  # the masked form of ``contact`` (``06-•••••89``)
    cluster: str | None = None  # ``photo:<n>`` or ``template:<n>``
    network: str | None = None
    municipalities: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()  # country codes of foreign numbers ("+32")
    start: str | None = None  # ISO date
    end: str | None = None
    #: Family cap: points before the cap, the cap, and the situation that lowered it (if any).
    uncapped: float | None = None
    cap: float | None = None
    situation: str | None = None

    def figure(self, name: str, default: int | float = 0) -> int | float:
        for key, value in self.figures:
            if key == name:
                return value
        return default


#: The fields of reason facts in order, and all their values in one call (a copy with one field
#: changed, or every field read, costs half of ``dataclasses.replace`` or one ``getattr`` each).
REASON_FACT_FIELDS = tuple(f.name for f in fields(ReasonFacts))
reason_fact_values = attrgetter(*REASON_FACT_FIELDS)

#: The kinds of reason facts: a cue in an ad (A, B, E), shared evidence between personas (C),
#: the size of a network (C04), a foreign phone number (C06) and movement over time (D).
REASON_KINDS = (
    "cue",
    "shared_contact",
    "shared_photo",
    "stolen_photo",
    "shared_template",
    "network_size",
    "foreign_phone",
    "movement",
)


@dataclass(frozen=True, slots=True)
class Reason:
    """One contribution to a risk score, shown to the reviewer."""

    indicator_id: str
    family: str
    points: float  # after family caps
    text: str  # human-readable, e.g. "phone shared by 4 personas (phone:3f9a…)"
    facts: ReasonFacts | None = None  # the same as data, for ``signaal.ads.explain``


@dataclass(frozen=True, slots=True)
class Score:
    score: int  # 0-100
    level: str  # "log" | "review" | "priority"
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class RiskResult:
    ads: dict[str, Score]
    personas: dict[str, Score]
    networks: dict[str, Score]


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A bad input record, kept with the reason so that nothing is silently lost."""

    source: str  # file name
    line: int  # 1-based line (or CSV row) number
    field: str | None
    reason: str
    raw: str  # the original line (decoded with replacement characters if it was not UTF-8)
