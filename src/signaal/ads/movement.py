"""The movement stage: municipalities over time per persona and network, and movement indicators.

Definitions (all parameters in ``MovementConfig``):

- **arrival** (a ``Movement``): a persona's first ad in a municipality, or the first after
  ``arrival_gap_days`` without ads there; ``from_municipality`` is where she advertised last.
- **D01 rotation**: at least ``rotation_min`` distinct municipalities within ``rotation_days``.
- **D02 co-movement**: two personas of one network arrive in the same municipality within
  ``comove_days`` of each other, in at least ``comove_min`` different municipalities.
- **D03 daily reposting**: ads on at least ``daily_share`` of the days of an active span of at
  least ``daily_min_days`` days. It counts as D03 only together with 24/7 wording (A05), which
  the risk stage checks; the event is recorded here as ``D03``.
- **D04 persona turnover**: on one phone, at least ``turnover_min`` personas, each new one starting
  ``turnover_days`` (7-14 days by default, with slack) after the previous one.

Pure function of the ads and the linkage; per-persona work is linear in its ads.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from signaal.ads.types import (
    ContactKind,
    Linkage,
    Movement,
    MovementEvent,
    MovementResult,
    NormalisedAd,
)


@dataclass(frozen=True, slots=True)
class MovementConfig:
    arrival_gap_days: float = 14.0
    rotation_days: float = 30.0
    rotation_min: int = 3
    comove_days: float = 3.0
    comove_min: int = 2
    daily_share: float = 0.7
    daily_min_days: int = 7
    turnover_min: int = 3
    turnover_days: tuple[float, float] = (5.0, 17.0)


def _day(at: datetime) -> str:
    return at.date().isoformat()


def movement(
    ads: Sequence[NormalisedAd],
    linkage: Linkage,
    *,
    config: MovementConfig | None = None,
) -> MovementResult:
    """Municipality sequences, arrivals and the movement indicators D01, D02, D03, D04."""
    cfg = config or MovementConfig()
    by_persona: dict[str, list[NormalisedAd]] = defaultdict(list)
    persona_of_ad = linkage.persona_of_ad
    for ad in ads:
        by_persona[persona_of_ad[ad.record.id]].append(ad)

    movements: list[Movement] = []
    municipalities_of_persona: dict[str, tuple[str, ...]] = {}
    events: dict[str, list[str]] = defaultdict(list)
    indicators: dict[str, list[MovementEvent]] = defaultdict(list)
    arrivals_of_network: dict[str, list[Movement]] = defaultdict(list)
    gap = timedelta(days=cfg.arrival_gap_days)
    window = timedelta(days=cfg.rotation_days)

    for persona in sorted(by_persona):
        items = sorted(by_persona[persona], key=lambda a: (a.posted_at, a.record.id))
        net = linkage.network_of_persona.get(persona, persona)
        located = [a for a in items if a.municipality]
        order: dict[str, None] = {}
        last_seen: dict[str, datetime] = {}
        previous: str | None = None
        for ad in located:
            place = ad.municipality
            assert place is not None
            order.setdefault(place, None)
            seen = last_seen.get(place)
            if seen is None or ad.posted_at - seen >= gap:
                mv = Movement(persona, net, previous, place, ad.posted_at)
                movements.append(mv)
                arrivals_of_network[net].append(mv)
                events[persona].append(
                    f"arrival in {place} on {_day(ad.posted_at)}"
                    + (f" (from {previous})" if previous and previous != place else "")
                )
            last_seen[place] = ad.posted_at
            previous = place
        municipalities_of_persona[persona] = tuple(order)

        # D01: a sliding 30-day window over the located ads, counting distinct municipalities.
        best: tuple[int, int, int] | None = None  # (count, start index, end index)
        counts: dict[str, int] = defaultdict(int)
        lo = 0
        for hi, ad in enumerate(located):
            counts[ad.municipality or ""] += 1
            while ad.posted_at - located[lo].posted_at > window:
                key = located[lo].municipality or ""
                counts[key] -= 1
                if counts[key] == 0:
                    del counts[key]
                lo += 1
            if len(counts) >= cfg.rotation_min and (best is None or len(counts) > best[0]):
                best = (len(counts), lo, hi)
        if best is not None:
            span = located[best[1] : best[2] + 1]
            places = tuple(dict.fromkeys(a.municipality or "" for a in span))
            text = (
                f"D01: {len(places)} municipalities within {cfg.rotation_days:g} days: "
                f"{', '.join(places)} ({_day(span[0].posted_at)} to {_day(span[-1].posted_at)})"
            )
            events[persona].append(text)
            indicators[persona].append(
                MovementEvent(
                    "D01",
                    persona,
                    text,
                    municipalities=places,
                    ad_ids=tuple(a.id for a in span[:10]),
                    start=span[0].posted_at,
                    end=span[-1].posted_at,
                    figures=(
                        ("municipalities", len(places)),
                        ("window_days", cfg.rotation_days),
                    ),
                )
            )

        # D03 (the reposting half): ads on most days of an active span.
        days = sorted({a.posted_at.date() for a in items})
        if days:
            span_days = (days[-1] - days[0]).days + 1
            if span_days >= cfg.daily_min_days and len(days) >= cfg.daily_share * span_days:
                text = (
                    f"D03: ads on {len(days)} of {span_days} days "
                    f"({days[0].isoformat()} to {days[-1].isoformat()})"
                )
                events[persona].append(text)
                indicators[persona].append(
                    MovementEvent(
                        "D03",
                        persona,
                        text,
                        ad_ids=tuple(a.id for a in items[:10]),
                        start=items[0].posted_at,
                        end=items[-1].posted_at,
                        figures=(("active_days", len(days)), ("span_days", span_days)),
                    )
                )

    # D02: co-movement inside networks.
    municipalities_of_network: dict[str, list[str]] = defaultdict(list)
    for persona, places in municipalities_of_persona.items():
        net = linkage.network_of_persona.get(persona, persona)
        municipalities_of_network[net].extend(places)
    window_co = timedelta(days=cfg.comove_days)
    for net in sorted(arrivals_of_network):
        arrivals = arrivals_of_network[net]
        personas = {a.persona_id for a in arrivals}
        if len(personas) < 2:
            continue
        by_place: dict[str, list[Movement]] = defaultdict(list)
        for mv in arrivals:
            by_place[mv.to_municipality].append(mv)
        together: dict[tuple[str, str], set[str]] = defaultdict(set)
        for place, mvs in by_place.items():
            mvs.sort(key=lambda m: (m.at, m.persona_id))
            # Sorted by time: each arrival is paired only with the later ones inside the
            # window, so a place with many arrivals costs its arrivals, not their square.
            for i, a in enumerate(mvs):
                for j in range(i + 1, len(mvs)):
                    b = mvs[j]
                    if b.at - a.at > window_co:
                        break
                    if a.persona_id != b.persona_id:
                        pair = (min(a.persona_id, b.persona_id), max(a.persona_id, b.persona_id))
                        together[pair].add(place)
        moving = {
            pair: places for pair, places in together.items() if len(places) >= cfg.comove_min
        }
        if not moving:
            continue
        involved = sorted({p for pair in moving for p in pair})
        all_places = tuple(sorted({pl for places in moving.values() for pl in places}))
        text = (
            f"D02: {len(involved)} linked personas arrived together (within "
            f"{cfg.comove_days:g} days) in {len(all_places)} municipalities: "
            f"{', '.join(all_places[:8])}{', …' if len(all_places) > 8 else ''}"
        )
        events[net].append(text)
        for subject in [net, *involved]:
            indicators[subject].append(
                MovementEvent(
                    "D02",
                    subject,
                    text,
                    municipalities=all_places,
                    figures=(
                        ("personas", len(involved)),
                        ("municipalities", len(all_places)),
                        ("window_days", cfg.comove_days),
                    ),
                )
            )
            if subject != net:
                events[subject].append(text)

    # D04: persona turnover on one phone.
    first_on_phone: dict[str, dict[str, datetime]] = defaultdict(dict)
    phone_kind = ContactKind.PHONE
    for persona, persona_ads in by_persona.items():
        for ad in persona_ads:
            for contact in ad.contacts:
                if contact.kind is not phone_kind:
                    continue
                starts_of = first_on_phone[contact.value]
                seen = starts_of.get(persona)
                if seen is None or ad.posted_at < seen:
                    starts_of[persona] = ad.posted_at
    lo_days, hi_days = cfg.turnover_days
    for phone in sorted(first_on_phone):
        starts = sorted(first_on_phone[phone].items(), key=lambda kv: (kv[1], kv[0]))
        if len(starts) < cfg.turnover_min:
            continue
        gaps = [(b[1] - a[1]).total_seconds() / 86400 for a, b in itertools.pairwise(starts)]
        regular = [lo_days <= g <= hi_days for g in gaps]
        # The longest run of regular gaps.
        run = best_run = 0
        for ok in regular:
            run = run + 1 if ok else 0
            best_run = max(best_run, run)
        if best_run + 1 < cfg.turnover_min:
            continue
        turnover = [p for p, _ in starts]
        net = linkage.network_of_persona.get(turnover[0], turnover[0])
        text = (
            f"D04: {len(turnover)} personas started one after another on one phone, "
            f"{best_run + 1} of them {lo_days:g}-{hi_days:g} days apart "
            f"(from {_day(starts[0][1])} to {_day(starts[-1][1])})"
        )
        for subject in [net, *turnover]:
            if any(ev.indicator_id == "D04" for ev in indicators[subject]):
                continue
            indicators[subject].append(
                MovementEvent(
                    "D04",
                    subject,
                    text,
                    start=starts[0][1],
                    end=starts[-1][1],
                    figures=(
                        ("personas", len(turnover)),
                        ("regular", best_run + 1),
                        ("min_days", lo_days),
                        ("max_days", hi_days),
                    ),
                )
            )
            events[subject].append(text)

    return MovementResult(
        movements=tuple(sorted(movements, key=lambda m: (m.at, m.persona_id))),
        municipalities_of_persona=municipalities_of_persona,
        municipalities_of_network={
            k: tuple(dict.fromkeys(v)) for k, v in sorted(municipalities_of_network.items())
        },
        events={k: tuple(v) for k, v in sorted(events.items())},
        indicators={k: tuple(v) for k, v in sorted(indicators.items())},
    )
