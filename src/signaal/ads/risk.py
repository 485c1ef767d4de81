"""The risk stage: explained priorities for human review, per ad, persona and network.

Points come from indicators, each with a weight taken from data (``indicators.json``, then this
package's ``risk-weights.json``, then an optional calibrated weights file, later ones winning):

- families A (wording) and B (profile fields) from the indicator hits of the ads;
- family C (links) from the link stage's shared evidence: C01 phone shared by several personas,
  C02 photos reused inside a network, C03 text template shared by several personas, C04 network
  of at least four personas, C05 shared e-mail, handle or website, C06 foreign phone number with
  a Dutch municipality;
- family D (movement) from the movement stage: D01 rotation, D02 co-movement, D03 daily reposting
  together with 24/7 wording (A05), D04 new personas on one phone every one to two weeks;
- family E (minor risk) escalates: at least "review", and its points rank minors near the top.

Points are capped per family (A <= 5, B <= 2, C <= 6, D <= 4 by default) so that correlated
cues are not counted twice; links and movement (C + D up to 10) therefore weigh more than
wording (A up to 5). Family A alone never raises the level above "log". Points map to 0-100 as
``10 * points`` up to the priority band (7 points = 70) and compressed above it, so the band
edges read the same on both scales: <= 3 points (score < 40) log, 4-6 review, >= 7 priority.

Every score carries its reasons; the points of the reasons add up to the points behind the score.
Each reason holds its text (for analysts, the ``reasons`` column) and its facts as data
(:class:`~signaal.ads.types.ReasonFacts`: counts, example ads, pseudonyms, the cap), which
``signaal.ads.explain`` turns into plain sentences.
"""

from __future__ import annotations

import bisect
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import compress
from operator import attrgetter
from pathlib import Path
from typing import Any

from signaal.ads.types import (
    REASON_FACT_FIELDS,
    ContactKind,
    IndicatorHit,
    Linkage,
    LinkKind,
    MovementEvent,
    MovementResult,
    NormalisedAd,
    Reason,
    ReasonFacts,
    RiskResult,
    Score,
    hits_per_ad,
    reason_fact_values,
)
from signaal.errors import ConfigurationError

LEVELS = ("log", "review", "priority")
_record_id = attrgetter("record.id")
_FAMILY_OF = {"A": "A", "B": "B", "C": "C", "D": "D", "E": "E", "F": "F"}
#: Cues besides family E that count from any ad of a persona: a stated age of 18-20 (B01), the
#: minor-age evidence that one ad without an age or with stronger wording must not hide.
_PERSONA_WIDE = frozenset({"B01"})


@dataclass(frozen=True, slots=True)
class RiskWeights:
    """Weights per indicator id, caps per family and band edges (all plain data)."""

    weights: dict[str, float]
    caps: dict[str, float]
    review: float = 4.0
    priority: float = 7.0
    source: tuple[str, ...] = ()
    #: Lower caps that apply in a situation: ``{"unlinked": {"D": 1}, "stationary": {"C": 3}}``.
    conditional_caps: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Optional calibrated model (feature names, coefficients, intercept) from ``calibrate``.
    model: dict[str, Any] = field(default_factory=dict)

    def weight(self, indicator_id: str, default: float = 0.0) -> float:
        return self.weights.get(indicator_id, default)

    def cap(self, family: str) -> float:
        return self.caps.get(family, math.inf)

    @property
    def max_points(self) -> float:
        finite = [v for k, v in self.caps.items() if k in "ABCDE" and math.isfinite(v)]
        return float(sum(finite)) if finite else 20.0


def _read_json(text: str, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{where}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"{where}: expected a JSON object")
    return data


def _apply(
    data: Mapping[str, Any],
    weights: dict[str, float],
    caps: dict[str, float],
    where: str,
    conditional: dict[str, dict[str, float]] | None = None,
) -> dict[str, float]:
    bands: dict[str, float] = {}
    for situation, limits in dict(data.get("conditional_caps", {})).items():
        if conditional is None or not isinstance(limits, dict):
            continue
        conditional[str(situation)] = {
            str(f): float(v) for f, v in limits.items() if isinstance(v, int | float)
        }
    for key, value in dict(data.get("weights", {})).items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ConfigurationError(f"{where}: weight of {key!r} must be a number")
        weights[str(key)] = float(value)
    for key, value in dict(data.get("caps", {})).items():
        caps[str(key)] = math.inf if value is None else float(value)
    raw_bands = data.get("bands", {})
    if isinstance(raw_bands, dict):
        for key in ("review", "priority"):
            if key in raw_bands:
                bands[key] = float(raw_bands[key])
    return bands


def load_weights(path: Path | None = None) -> RiskWeights:
    """Default weights (indicators.json, then risk-weights.json), overridden by ``path``."""
    weights: dict[str, float] = {}
    caps: dict[str, float] = {}
    bands: dict[str, float] = {}
    sources: list[str] = []
    package = resources.files("signaal.ads")
    indicators = package.joinpath("indicators.json")
    if indicators.is_file():
        data = _read_json(indicators.read_text("utf-8"), "indicators.json")
        for item in data.get("indicators", []):
            if isinstance(item, dict) and isinstance(item.get("weight"), int | float):
                weights[str(item["id"])] = float(item["weight"])
        for family, info in dict(data.get("families", {})).items():
            if isinstance(info, dict) and "cap" in info:
                cap = info["cap"]
                caps[str(family)] = math.inf if cap is None else float(cap)
        sources.append("indicators.json")
    own = package.joinpath("risk-weights.json")
    data = _read_json(own.read_text("utf-8"), "risk-weights.json")
    conditional: dict[str, dict[str, float]] = {}
    bands.update(_apply(data, weights, caps, "risk-weights.json", conditional))
    sources.append("risk-weights.json")
    model: dict[str, Any] = {}
    if path is not None:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigurationError(f"cannot read weights file {path}: {exc}") from exc
        data = _read_json(text, str(path))
        bands.update(_apply(data, weights, caps, str(path), conditional))
        model = dict(data.get("model", {}))
        sources.append(str(path))
    return RiskWeights(
        weights=weights,
        caps=caps,
        review=bands.get("review", 4.0),
        priority=bands.get("priority", 7.0),
        source=tuple(sources),
        conditional_caps=conditional,
        model=model,
    )


def points_to_score(points: float, weights: RiskWeights) -> int:
    """0-100: ``10 * points`` up to the priority edge, the rest compressed into the last 30."""
    if points <= 0:
        return 0
    edge = weights.priority
    if points <= edge:
        return round(100 * 0.7 * points / edge)
    rest = max(weights.max_points - edge, 1.0)
    return min(100, round(70 + 30 * (points - edge) / rest))


@dataclass(slots=True)
class _Tally:
    """Candidate reasons of one subject before the family caps."""

    items: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (points, text)
    abe: float = 0.0  # capped points of families A, B and E (to pick a persona's strongest ad)
    facts: dict[str, ReasonFacts] = field(default_factory=dict)  # id -> facts of its text

    def add(
        self, indicator_id: str, points: float, text: str, facts: ReasonFacts | None = None
    ) -> None:
        # ``Reason.indicator_id`` carries the id: the text need not repeat it.
        if text.startswith(indicator_id + ": "):
            text = text[len(indicator_id) + 2 :]
        current = self.items.get(indicator_id)
        if current is None or points > current[0]:
            self.items[indicator_id] = (points, text)
            if facts is None:
                self.facts.pop(indicator_id, None)
            else:
                self.facts[indicator_id] = facts

    def merge(self, other: _Tally) -> None:
        facts = other.facts
        for key, (pts, text) in other.items.items():
            self.add(key, pts, text, facts.get(key))


_AD_ID = REASON_FACT_FIELDS.index("ad_id")
assert REASON_FACT_FIELDS[-3:] == ("uncapped", "cap", "situation")


def _in_ad(facts: ReasonFacts | None, ad_id: str) -> ReasonFacts | None:
    """``facts`` of a cue, saying which ad of a persona it was found in."""
    if facts is None:
        return None
    values = list(reason_fact_values(facts))
    values[_AD_ID] = ad_id
    return ReasonFacts(*values)


def _with_cap(
    facts: ReasonFacts | None, uncapped: float, cap: float, situation: str | None
) -> ReasonFacts:
    """``facts`` of a reason whose points a family cap lowered (plain cue facts if none)."""
    values = list(reason_fact_values(facts or ReasonFacts("cue")))
    values[-3:] = (uncapped, cap, situation)
    return ReasonFacts(*values)


def _movement_facts(event: MovementEvent) -> ReasonFacts:
    return ReasonFacts(
        "movement",
        figures=event.figures,
        ad_ids=event.ad_ids[:4],
        municipalities=event.municipalities,
        start=event.start.date().isoformat() if event.start else None,
        end=event.end.date().isoformat() if event.end else None,
    )


_SITUATION_TEXT = {
    "unlinked": "no links to other personas (touring independents move too)",
    "stationary": "the linked personas do not move (a licensed agency shares a phone too)",
}


@dataclass(frozen=True, slots=True)
class _Part:
    """Capped points of some families of one subject, before they become a score."""

    total: float
    families: frozenset[str]  # families that contribute points
    has_e: bool
    reasons: tuple[Reason, ...]


_EMPTY_PART = _Part(0.0, frozenset(), False, ())


def _capped(tally: _Tally, weights: RiskWeights, situations: Iterable[str] = ()) -> _Part:
    items = tally.items
    if not items:
        return _EMPTY_PART
    facts_of = tally.facts
    # Families in order, inside each family the strongest reason first (keys are unique, so the
    # comparison never goes past the key).
    ordered = sorted([(key[:1], -pts, key, pts, text) for key, (pts, text) in items.items()])
    reasons: list[Reason] = []
    total = 0.0
    families_with_points: set[str] = set()
    has_e = False
    start = 0
    n = len(ordered)
    while start < n:
        family = ordered[start][0]
        end = start + 1
        while end < n and ordered[end][0] == family:
            end += 1
        group = ordered[start:end] if start or end < n else ordered
        if family == "E":
            has_e = True
        positive = 0.0
        negative = 0.0
        for item in group:
            p = item[3]
            if p > 0:
                positive += p
            else:
                negative += p
        cap = weights.cap(family)
        why = ""
        lowered_by: str | None = None
        for situation in situations:
            limit = weights.conditional_caps.get(situation, {}).get(family)
            if limit is not None and limit < cap:
                cap = limit
                why = f", {_SITUATION_TEXT.get(situation, situation)}"
                lowered_by = situation
        allowed = min(positive, cap)
        budget = allowed
        for _, _, key, pts, text in group:
            facts = facts_of.get(key)
            if pts > 0:
                given = min(pts, budget)
                budget -= given
                note = ""
                if given != pts:
                    note = f" (capped: family {family} at most {cap:g}{why})"
                    facts = _with_cap(facts, pts, cap, lowered_by)
                reasons.append(Reason(key, family, round(given, 4), text + note, facts))
            else:
                reasons.append(Reason(key, family, round(pts, 4), text, facts))
        family_points = allowed + negative
        if family_points > 0:
            families_with_points.add(family)
        total += family_points
        start = end
    return _Part(total, frozenset(families_with_points), has_e, tuple(reasons))


def _score(parts: Sequence[_Part], weights: RiskWeights) -> Score:
    """One score from the parts (disjoint families): bands, "A alone" and "E escalates"."""
    total = max(sum(p.total for p in parts), 0.0)
    families = frozenset().union(*(p.families for p in parts))
    level = "log"
    if total >= weights.priority:
        level = "priority"
    elif total >= weights.review:
        level = "review"
    if families and families <= {"A"}:
        level = "log"  # family A alone never triggers an alert
    if any(p.has_e for p in parts) and level == "log":
        level = "review"  # family E escalates to review
    reasons = (
        parts[0].reasons
        if len(parts) == 1
        else tuple(sorted((r for p in parts for r in p.reasons), key=lambda r: r.family))
    )
    # Reasons with zero points are kept for the reviewer; the sum of points equals ``total``
    # unless negative points pushed it below zero.
    return Score(score=points_to_score(total, weights), level=level, reasons=reasons)


def _level(total: float, families: frozenset[str], has_e: bool, weights: RiskWeights) -> str:
    level = "log"
    if total >= weights.priority:
        level = "priority"
    elif total >= weights.review:
        level = "review"
    if families and families <= {"A"}:
        level = "log"  # family A alone never triggers an alert
    if has_e and level == "log":
        level = "review"  # family E escalates to review
    return level


def _merged_reasons(own: _Part, own_families: Sequence[str], other: _Part) -> tuple[Reason, ...]:
    """``own.reasons`` and ``other.reasons`` stably sorted by family (as ``_score`` does), both
    being sorted by family already; without sorting when ``other``'s families fit in between."""
    if not other.reasons:
        return own.reasons
    if not own.reasons:
        return other.reasons
    lo = bisect.bisect_right(own_families, other.reasons[0].family)
    hi = bisect.bisect_right(own_families, other.reasons[-1].family)
    if lo == hi:
        return own.reasons[:lo] + other.reasons + own.reasons[lo:]
    return tuple(sorted(own.reasons + other.reasons, key=lambda r: r.family))


def _score_pair(
    own: _Part, own_families: Sequence[str], other: _Part, weights: RiskWeights
) -> Score:
    """``_score([own, other], weights)`` for two parts whose reasons are sorted by family."""
    total = max(0 + own.total + other.total, 0.0)
    level = _level(total, own.families | other.families, own.has_e or other.has_e, weights)
    reasons = _merged_reasons(own, own_families, other)
    return Score(score=points_to_score(total, weights), level=level, reasons=reasons)


def _finish(
    tally: _Tally, weights: RiskWeights, situations: Iterable[str] = ()
) -> tuple[float, Score]:
    part = _capped(tally, weights, situations)
    return max(part.total, 0.0), _score([part], weights)


_HitKey = tuple[str, float, str, str]
#: What an ad's tally is made of, per hit: plain tuples hash and compare in C, unlike the hits.
_hit_key = attrgetter("indicator_id", "weight", "field", "evidence")


def _content_tally(content: tuple[_HitKey, ...], weights: RiskWeights) -> _Tally:
    """The tally of an ad's hits, each given as (indicator id, weight, field, evidence)."""
    tally = _Tally()
    for indicator_id, weight, where, evidence in content:
        tally.add(
            indicator_id,
            weights.weight(indicator_id, weight),
            f"{where}: {evidence!r}",
            ReasonFacts("cue", field=where, evidence=evidence),
        )
    tally.abe = _family_sum(tally, "ABE", weights)
    return tally


def _family_sum(tally: _Tally, families: str, weights: RiskWeights) -> float:
    positive: dict[str, float] = {}
    negative = 0.0
    for key, (pts, _) in tally.items.items():
        family = key[:1]
        if family in families:
            if pts > 0:
                positive[family] = positive.get(family, 0.0) + pts
            else:
                negative += pts
    return sum(min(v, weights.cap(f)) for f, v in positive.items()) + negative


@dataclass(frozen=True, slots=True)
class _Tallies:
    """The tallies of a corpus. Ads are held as positions in ``ad_ids`` (sorted ids), with their
    persona and the index of their tally in ``kinds`` (ads with the same hits share a tally)."""

    ad_ids: list[str]
    ad_personas: list[str]
    ad_kinds: list[int]
    kinds: list[_Tally]
    positions: dict[str, list[int]]  # persona -> positions of its ads, in order of first ad
    link: dict[str, _Tally]
    persona: dict[str, _Tally]
    personas_of_network: dict[str, list[str]]


def _tallies(
    ads: Sequence[NormalisedAd],
    hits: Mapping[str, tuple[IndicatorHit, ...]],
    linkage: Linkage,
    movement: MovementResult,
    weights: RiskWeights,
) -> _Tallies:
    # Per-ad work runs over the ads in input order (their order in memory, much faster than
    # jumping around), then follows the ads sorted by id.
    input_ids = list(map(_record_id, ads))
    # Per-ad wording and profile tallies (A, B, E and per-ad C/D hits from the indicator stage),
    # one per distinct content, shared between ads with the same hits (reposts); ``setdefault``
    # numbers a new content with the count of contents before it.
    index_of: dict[tuple[_HitKey, ...], int] = {}
    number = index_of.setdefault
    ad_hits = hits_per_ad(hits, input_ids)
    input_kinds = [number(tuple(map(_hit_key, h)), len(index_of)) for h in ad_hits]
    kinds = [_content_tally(content, weights) for content in index_of]
    del index_of
    order = sorted(range(len(input_ids)), key=input_ids.__getitem__)
    ad_ids = list(map(input_ids.__getitem__, order))
    ad_kinds = list(map(input_kinds.__getitem__, order))
    del input_ids, input_kinds, order
    ad_personas = list(map(linkage.persona_of_ad.__getitem__, ad_ids))
    positions: dict[str, list[int]] = defaultdict(list)
    for i, persona in enumerate(ad_personas):
        positions[persona].append(i)
    personas_of_network: dict[str, list[str]] = defaultdict(list)
    for persona in sorted(positions):
        personas_of_network[linkage.network_of_persona.get(persona, persona)].append(persona)

    # Foreign phone numbers of ads with a Dutch municipality, per persona (for C06).
    foreign_of: dict[str, set[str]] = {}
    phone_kind = ContactKind.PHONE
    for ad in ads:
        if ad.municipality:
            for c in ad.contacts:
                if c.kind is phone_kind and c.value[:3] != "+31" and c.value[:1] == "+":
                    persona = linkage.persona_of_ad[ad.record.id]
                    foreign_of.setdefault(persona, set()).add(c.value)
    # Personas with an ad with 24/7 wording (for D03).
    kind_has_a05 = ["A05" in tally.items for tally in kinds]
    with_a05 = set(compress(ad_personas, map(kind_has_a05.__getitem__, ad_kinds)))

    # Link and movement evidence per persona.
    link_tally: dict[str, _Tally] = {}
    for persona in positions:
        tally = _Tally()
        network = linkage.network_of_persona.get(persona, persona)
        network_size = len(personas_of_network[network])
        for ev in linkage.shared.get(persona, ()):
            others = len(ev.personas) - 1
            examples = ", ".join(ev.ad_ids[:4]) + (", …" if len(ev.ad_ids) > 4 else "")
            if not ev.joins_network:
                if ev.kind is LinkKind.PHOTO and ev.first_persona != persona:
                    tally.add(
                        "C02",
                        0.0,
                        f"C02: photos also used by {others} unlinked persona(s) that advertised "
                        f"them earlier (possibly stolen photos; not linked on its own) "
                        f"[{ev.key}, ads {examples}]",
                        ReasonFacts(
                            "stolen_photo",
                            figures=(("others", others),),
                            ad_ids=ev.ad_ids[:4],
                            cluster=ev.key,
                        ),
                    )
                continue
            if ev.kind is LinkKind.PHONE:
                tally.add(
                    "C01",
                    weights.weight("C01"),
                    f"C01: phone {ev.key} shared by {len(ev.personas)} personas [ads {examples}]",
                    ReasonFacts(
                        "shared_contact",
                        figures=(("personas", len(ev.personas)),),
                        ad_ids=ev.ad_ids[:4],
                        contact=ev.key,
                        contact_kind=ev.kind.value,
                    ),
                )
            elif ev.kind in (LinkKind.EMAIL, LinkKind.HANDLE):
                tally.add(
                    "C05",
                    weights.weight("C05"),
                    f"C05: {ev.kind.value} {ev.key} shared by {len(ev.personas)} personas "
                    f"[ads {examples}]",
                    ReasonFacts(
                        "shared_contact",
                        figures=(("personas", len(ev.personas)),),
                        ad_ids=ev.ad_ids[:4],
                        contact=ev.key,
                        contact_kind=ev.kind.value,
                    ),
                )
            elif ev.kind is LinkKind.TEXT:
                tally.add(
                    "C03",
                    weights.weight("C03"),
                    f"C03: near-duplicate text template shared by {len(ev.personas)} personas "
                    f"[{ev.key}, ads {examples}]",
                    ReasonFacts(
                        "shared_template",
                        figures=(("personas", len(ev.personas)),),
                        ad_ids=ev.ad_ids[:4],
                        cluster=ev.key,
                    ),
                )
        for ev in linkage.shared.get(persona, ()):
            if ev.kind is LinkKind.PHOTO and ev.joins_network is False:
                same_network = [
                    p
                    for p in ev.personas
                    if p != persona and linkage.network_of_persona.get(p, p) == network
                ]
                if same_network:
                    examples = ", ".join(ev.ad_ids[:4])
                    tally.add(
                        "C02",
                        weights.weight("C02"),
                        f"C02: photos reused by {len(same_network) + 1} personas of one network "
                        f"[{ev.key}, ads {examples}]",
                        ReasonFacts(
                            "shared_photo",
                            figures=(("personas", len(same_network) + 1),),
                            ad_ids=ev.ad_ids[:4],
                            cluster=ev.key,
                        ),
                    )
        if network_size >= 4:
            tally.add(
                "C04",
                weights.weight("C04"),
                f"C04: part of a network of {network_size} personas ({network})",
                ReasonFacts("network_size", figures=(("personas", network_size),), network=network),
            )
        foreign = sorted(foreign_of.get(persona, ()))
        if foreign:
            prefixes = sorted({p[:4] for p in foreign})
            tally.add(
                "C06",
                weights.weight("C06"),
                f"C06: foreign phone number ({', '.join(prefixes)}…) with a Dutch municipality",
                ReasonFacts("foreign_phone", prefixes=tuple(prefixes)),
            )
        has_a05 = persona in with_a05
        for mev in movement.indicators.get(persona, ()):
            if mev.indicator_id == "D03":
                if has_a05:
                    tally.add(
                        "D03",
                        weights.weight("D03"),
                        mev.text + ", with 24/7 wording (A05)",
                        _movement_facts(mev),
                    )
                continue
            tally.add(
                mev.indicator_id,
                weights.weight(mev.indicator_id),
                mev.text,
                _movement_facts(mev),
            )
        link_tally[persona] = tally

    # Persona: the strongest ad's wording/profile/minor cues + the persona's link/movement tally.
    persona_tally: dict[str, _Tally] = {}
    # The items of each shared hit tally that count from any ad of the persona (minor risk E, a
    # stated age of 18-20 B01: the age belongs to the woman, not to the ad that states it; and
    # per-ad C and D hits), found once per tally, and the ads with any.
    ecd_of = [
        [
            (key, pts, text, tally.facts.get(key))
            for key, (pts, text) in tally.items.items()
            if key.startswith("E") or key[:1] in "CD" or key in _PERSONA_WIDE
        ]
        for tally in kinds
    ]
    ecd_positions: dict[str, list[int]] = defaultdict(list)
    for i in compress(range(len(ad_ids)), map(ecd_of.__getitem__, ad_kinds)):
        ecd_positions[ad_personas[i]].append(i)
    abe_of_ad = list(map([tally.abe for tally in kinds].__getitem__, ad_kinds))
    for persona, persona_positions in positions.items():
        tally = _Tally()
        kept = tally.items
        for i in ecd_positions.get(persona, ()):  # E (and B01) cues anywhere count
            ad_id = ad_ids[i]
            for key, pts, text, facts in ecd_of[ad_kinds[i]]:
                # ``add`` keeps only a stronger cue: the text and facts of one it would not
                # keep (the same cue in another ad of the persona) are not made.
                current = kept.get(key)
                if current is None or pts > current[0]:
                    tally.add(key, pts, f"{text} (ad {ad_id})", _in_ad(facts, ad_id))
        # A/B from the strongest ad only: the highest ``abe``, then the highest id (the last).
        best = persona_positions[-1]
        if len(persona_positions) > 1:
            abes = list(map(abe_of_ad.__getitem__, persona_positions))
            best = persona_positions[len(abes) - 1 - abes[::-1].index(max(abes))]
        best_id = ad_ids[best]
        best_tally = kinds[ad_kinds[best]]
        for key, (pts, text) in best_tally.items.items():
            if key[:1] in "AB":
                tally.add(
                    key, pts, f"{text} (ad {best_id})", _in_ad(best_tally.facts.get(key), best_id)
                )
        tally.merge(link_tally[persona])
        persona_tally[persona] = tally
    return _Tallies(
        ad_ids,
        ad_personas,
        ad_kinds,
        kinds,
        dict(positions),
        link_tally,
        persona_tally,
        dict(personas_of_network),
    )


def _own_part(tally: _Tally, weights: RiskWeights) -> tuple[_Part, tuple[str, ...]]:
    """The capped A, B and E part of an ad's tally, with the family of each of its reasons."""
    own = _Tally(
        {k: v for k, v in tally.items.items() if k[:1] not in "CD"},
        facts={k: v for k, v in tally.facts.items() if k[:1] not in "CD"},
    )
    part = _capped(own, weights)
    return part, tuple(r.family for r in part.reasons)


def _situations(
    linkage: Linkage, movement: MovementResult, personas_of_network: Mapping[str, list[str]]
) -> dict[str, tuple[str, ...]]:
    """Per persona, the situations whose conditional caps apply: "unlinked" (a network of one)
    and "stationary" (no persona of its network rotates or co-moves)."""
    out: dict[str, tuple[str, ...]] = {}
    for network, personas in personas_of_network.items():
        moving = any(
            ev.indicator_id in {"D01", "D02"}
            for subject in (network, *personas)
            for ev in movement.indicators.get(subject, ())
        )
        situation: tuple[str, ...] = ("unlinked",) if len(personas) == 1 else ()
        if not moving:
            situation = (*situation, "stationary")
        for persona in personas:
            out[persona] = situation
    return out


def persona_features(
    ads: Sequence[NormalisedAd],
    hits: Mapping[str, tuple[IndicatorHit, ...]],
    linkage: Linkage,
    movement: MovementResult,
    weights: RiskWeights,
) -> dict[str, dict[str, float]]:
    """Per persona, 1.0 for every indicator that applies (before weights and caps).

    These are the features the calibration fits; a zero-point reason (e.g. stolen photos) is
    present too, so calibration can give it a weight.
    """
    t = _tallies(ads, hits, linkage, movement, weights)
    return {p: dict.fromkeys(tally.items, 1.0) for p, tally in sorted(t.persona.items())}


def score(
    ads: Sequence[NormalisedAd],
    hits: Mapping[str, tuple[IndicatorHit, ...]],
    linkage: Linkage,
    movement: MovementResult,
    weights: RiskWeights,
) -> RiskResult:
    """Scores with reasons for every ad, persona and network."""
    return _score_all(ads, hits, linkage, movement, weights)


def _score_all(
    ads: Sequence[NormalisedAd],
    hits: Mapping[str, tuple[IndicatorHit, ...]],
    linkage: Linkage,
    movement: MovementResult,
    weights: RiskWeights,
) -> RiskResult:

    t = _tallies(ads, hits, linkage, movement, weights)
    link_tally, persona_tally, personas_of_network = t.link, t.persona, t.personas_of_network
    situations = _situations(linkage, movement, personas_of_network)
    persona_scores = {
        p: _finish(tally, weights, situations[p])[1] for p, tally in persona_tally.items()
    }

    # Ads: their own wording, profile and minor cues plus the link and movement evidence of
    # their persona (disjoint families, so each part is capped on its own and shared by reposts).
    own_parts = [_own_part(tally, weights) for tally in t.kinds]
    # Most personas have no C/D part: their ads' scores depend on their hits alone.
    alone = [_score_pair(part, families, _EMPTY_PART, weights) for part, families in own_parts]
    ad_kinds = t.ad_kinds
    ad_score_list = list(map(alone.__getitem__, ad_kinds))
    for persona, persona_positions in t.positions.items():
        cd = _capped(link_tally[persona], weights, situations[persona])
        if cd is _EMPTY_PART:
            continue
        done: dict[int, Score] = {}
        for i in persona_positions:
            kind = ad_kinds[i]
            found = done.get(kind)
            if found is None:
                part, families = own_parts[kind]
                found = done[kind] = _score_pair(part, families, cd, weights)
            ad_score_list[i] = found
    ad_scores = dict(zip(t.ad_ids, ad_score_list, strict=True))

    # Networks: the union of their personas' evidence (each indicator once, strongest text).
    # A network of one persona without events of its own has that persona's tally, and so its
    # score (unless merging strips an "id: " prefix from a text a second time).
    network_scores: dict[str, Score] = {}
    for network, personas in personas_of_network.items():
        if len(personas) == 1 and all(
            mev.indicator_id == "D03" for mev in movement.indicators.get(network, ())
        ):
            alone_tally = persona_tally[personas[0]]
            if not any(text.startswith(key + ": ") for key, (_, text) in alone_tally.items.items()):
                network_scores[network] = persona_scores[personas[0]]
                continue
        tally = _Tally()
        for persona in personas:
            tally.merge(persona_tally[persona])
        for mev in movement.indicators.get(network, ()):
            if mev.indicator_id != "D03":
                tally.add(
                    mev.indicator_id,
                    weights.weight(mev.indicator_id),
                    mev.text,
                    _movement_facts(mev),
                )
        _, network_scores[network] = _finish(tally, weights, situations[personas[0]])

    return RiskResult(ads=ad_scores, personas=persona_scores, networks=network_scores)


def persona_points(result: RiskResult) -> dict[str, float]:
    """Total points behind each persona's score (the sum of its reasons' points)."""
    return {p: sum(r.points for r in s.reasons) for p, s in result.personas.items()}
