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
"""

from __future__ import annotations

import bisect
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from operator import attrgetter
from pathlib import Path
from typing import Any

from signaal.ads.memory import paused_gc
from signaal.ads.types import (
    ContactKind,
    IndicatorHit,
    Linkage,
    LinkKind,
    MovementResult,
    NormalisedAd,
    Reason,
    RiskResult,
    Score,
)
from signaal.errors import ConfigurationError

LEVELS = ("log", "review", "priority")
_record_id = attrgetter("record.id")
_FAMILY_OF = {"A": "A", "B": "B", "C": "C", "D": "D", "E": "E", "F": "F"}


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

    def add(self, indicator_id: str, points: float, text: str) -> None:
        # ``Reason.indicator_id`` carries the id: the text need not repeat it.
        if text.startswith(indicator_id + ": "):
            text = text[len(indicator_id) + 2 :]
        current = self.items.get(indicator_id)
        if current is None or points > current[0]:
            self.items[indicator_id] = (points, text)

    def merge(self, other: _Tally) -> None:
        for key, (pts, text) in other.items.items():
            self.add(key, pts, text)


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


def _family_order(item: tuple[str, tuple[float, str]]) -> tuple[str, float, str]:
    key, (pts, _) = item
    return (key[:1], -pts, key)


def _capped(tally: _Tally, weights: RiskWeights, situations: Iterable[str] = ()) -> _Part:
    if not tally.items:
        return _EMPTY_PART
    # Families in order, inside each family the strongest reason first (keys are unique).
    ordered = sorted(tally.items.items(), key=_family_order)
    reasons: list[Reason] = []
    total = 0.0
    families_with_points: set[str] = set()
    has_e = False
    start = 0
    n = len(ordered)
    while start < n:
        family = ordered[start][0][:1]
        end = start + 1
        while end < n and ordered[end][0][:1] == family:
            end += 1
        if family == "E":
            has_e = True
        positive = 0.0
        negative = 0.0
        for _, (p, _) in ordered[start:end]:
            if p > 0:
                positive += p
            else:
                negative += p
        cap = weights.cap(family)
        why = ""
        for situation in situations:
            limit = weights.conditional_caps.get(situation, {}).get(family)
            if limit is not None and limit < cap:
                cap = limit
                why = f", {_SITUATION_TEXT.get(situation, situation)}"
        allowed = min(positive, cap)
        budget = allowed
        for key, (pts, text) in ordered[start:end]:
            if pts > 0:
                given = min(pts, budget)
                budget -= given
                note = "" if given == pts else f" (capped: family {family} at most {cap:g}{why})"
                reasons.append(Reason(key, family, round(given, 4), text + note))
            else:
                reasons.append(Reason(key, family, round(pts, 4), text))
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


def _ad_tally(hits: Iterable[IndicatorHit], weights: RiskWeights) -> _Tally:
    tally = _Tally()
    for hit in hits:
        pts = weights.weight(hit.indicator_id, hit.weight)
        label = f"{hit.field}: {hit.evidence!r}"
        tally.add(hit.indicator_id, pts, label)
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
    ads_sorted: list[NormalisedAd]
    ad: dict[str, _Tally]
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
    ads_sorted = sorted(ads, key=_record_id)
    ads_of_persona: dict[str, list[NormalisedAd]] = defaultdict(list)
    persona_of_ad = linkage.persona_of_ad
    # Per-ad wording and profile tallies (A, B, E and per-ad C/D hits from the indicator stage),
    # shared between ads with the same hits (reposts).
    # The key holds just what a tally is made of: plain tuples hash and compare in C, unlike
    # the hits themselves.
    cache: dict[tuple[tuple[str, float, str, str], ...], _Tally] = {}
    ad_tallies: dict[str, _Tally] = {}
    no_hits: tuple[IndicatorHit, ...] = ()
    for ad in ads_sorted:
        ad_id = ad.record.id
        ads_of_persona[persona_of_ad[ad_id]].append(ad)
        ad_hits = hits.get(ad_id, no_hits)
        content = tuple([(h.indicator_id, h.weight, h.field, h.evidence) for h in ad_hits])
        tally_of_hits = cache.get(content)
        if tally_of_hits is None:
            tally_of_hits = _ad_tally(ad_hits, weights)
            tally_of_hits.abe = _family_sum(tally_of_hits, "ABE", weights)
            cache[content] = tally_of_hits
        ad_tallies[ad_id] = tally_of_hits
    personas_of_network: dict[str, list[str]] = defaultdict(list)
    for persona in sorted(ads_of_persona):
        personas_of_network[linkage.network_of_persona.get(persona, persona)].append(persona)

    # Link and movement evidence per persona.
    link_tally: dict[str, _Tally] = {}
    phone_kind = ContactKind.PHONE
    for persona, persona_ads in ads_of_persona.items():
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
                    )
                continue
            if ev.kind is LinkKind.PHONE:
                tally.add(
                    "C01",
                    weights.weight("C01"),
                    f"C01: phone {ev.key} shared by {len(ev.personas)} personas [ads {examples}]",
                )
            elif ev.kind in (LinkKind.EMAIL, LinkKind.HANDLE):
                tally.add(
                    "C05",
                    weights.weight("C05"),
                    f"C05: {ev.kind.value} {ev.key} shared by {len(ev.personas)} personas "
                    f"[ads {examples}]",
                )
            elif ev.kind is LinkKind.TEXT:
                tally.add(
                    "C03",
                    weights.weight("C03"),
                    f"C03: near-duplicate text template shared by {len(ev.personas)} personas "
                    f"[{ev.key}, ads {examples}]",
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
                    )
        if network_size >= 4:
            tally.add(
                "C04",
                weights.weight("C04"),
                f"C04: part of a network of {network_size} personas ({network})",
            )
        found: set[str] = set()
        for ad in persona_ads:
            if ad.municipality:
                for c in ad.contacts:
                    if c.kind is phone_kind:
                        phone = c.value
                        if phone.startswith("+") and not phone.startswith("+31"):
                            found.add(phone)
        foreign = sorted(found)
        if foreign:
            prefixes = sorted({p[:4] for p in foreign})
            tally.add(
                "C06",
                weights.weight("C06"),
                f"C06: foreign phone number ({', '.join(prefixes)}…) with a Dutch municipality",
            )
        has_a05 = any("A05" in ad_tallies[ad.record.id].items for ad in persona_ads)
        for mev in movement.indicators.get(persona, ()):
            if mev.indicator_id == "D03":
                if has_a05:
                    tally.add("D03", weights.weight("D03"), mev.text + ", with 24/7 wording (A05)")
                continue
            tally.add(mev.indicator_id, weights.weight(mev.indicator_id), mev.text)
        link_tally[persona] = tally

    # Persona: the strongest ad's wording/profile/minor cues + the persona's link/movement tally.
    persona_tally: dict[str, _Tally] = {}
    # The E, C and D items of each shared hit tally, found once per tally.
    ecd_of: dict[int, list[tuple[str, float, str]]] = {}
    for tally_of_hits in cache.values():
        ecd_of[id(tally_of_hits)] = [
            (key, pts, text)
            for key, (pts, text) in tally_of_hits.items.items()
            if key.startswith("E") or key[:1] in "CD"
        ]
    for persona, persona_ads in ads_of_persona.items():
        tally = _Tally()
        best = persona_ads[0]
        best_key = (ad_tallies[best.record.id].abe, best.record.id)
        for ad in persona_ads:  # E cues anywhere count; A/B from the strongest ad only
            ad_id = ad.record.id
            own = ad_tallies[ad_id]
            if (own.abe, ad_id) > best_key:
                best, best_key = ad, (own.abe, ad_id)
            for key, pts, text in ecd_of[id(own)]:
                tally.add(key, pts, f"{text} (ad {ad_id})")
        for key, (pts, text) in ad_tallies[best.id].items.items():
            if key[:1] in "AB":
                tally.add(key, pts, f"{text} (ad {best.id})")
        tally.merge(link_tally[persona])
        persona_tally[persona] = tally
    return _Tallies(ads_sorted, ad_tallies, link_tally, persona_tally, dict(personas_of_network))


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
    with paused_gc():
        return _score_all(ads, hits, linkage, movement, weights)


def _score_all(
    ads: Sequence[NormalisedAd],
    hits: Mapping[str, tuple[IndicatorHit, ...]],
    linkage: Linkage,
    movement: MovementResult,
    weights: RiskWeights,
) -> RiskResult:

    t = _tallies(ads, hits, linkage, movement, weights)
    ads_sorted, ad_tallies, link_tally = t.ads_sorted, t.ad, t.link
    persona_tally, personas_of_network = t.persona, t.personas_of_network
    situations = _situations(linkage, movement, personas_of_network)
    persona_scores = {
        p: _finish(tally, weights, situations[p])[1] for p, tally in persona_tally.items()
    }

    # Ads: their own wording, profile and minor cues plus the link and movement evidence of
    # their persona (disjoint families, so each part is capped on its own and shared by reposts).
    ad_scores: dict[str, Score] = {}
    own_parts: dict[int, tuple[_Part, tuple[str, ...]]] = {}
    persona_parts: dict[str, _Part] = {}
    done: dict[tuple[str, int], Score] = {}  # (persona, id of the shared hit tally) -> score
    persona_of_ad = linkage.persona_of_ad
    for ad in ads_sorted:
        ad_id = ad.record.id
        persona = persona_of_ad[ad_id]
        own = ad_tallies[ad_id]
        key = (persona, id(own))
        found = done.get(key)
        if found is None:
            own_part = own_parts.get(id(own))
            if own_part is None:
                abe = _Tally({k: v for k, v in own.items.items() if k[:1] not in "CD"})
                part = _capped(abe, weights)
                own_part = own_parts[id(own)] = (part, tuple(r.family for r in part.reasons))
            cd = persona_parts.get(persona)
            if cd is None:
                cd = persona_parts[persona] = _capped(
                    link_tally[persona], weights, situations[persona]
                )
            found = done[key] = _score_pair(own_part[0], own_part[1], cd, weights)
        ad_scores[ad_id] = found

    # Networks: the union of their personas' evidence (each indicator once, strongest text).
    network_scores: dict[str, Score] = {}
    for network, personas in personas_of_network.items():
        tally = _Tally()
        for persona in personas:
            tally.merge(persona_tally[persona])
        for mev in movement.indicators.get(network, ()):
            if mev.indicator_id != "D03":
                tally.add(mev.indicator_id, weights.weight(mev.indicator_id), mev.text)
        _, network_scores[network] = _finish(tally, weights, situations[personas[0]])

    return RiskResult(ads=ad_scores, personas=persona_scores, networks=network_scores)


def persona_points(result: RiskResult) -> dict[str, float]:
    """Total points behind each persona's score (the sum of its reasons' points)."""
    return {p: sum(r.points for r in s.reasons) for p, s in result.personas.items()}
