"""The synthetic market's actors and their schedules: who advertises what, where and when.

A *group* is the unit of generation: the workers whose ads depend on each other (a network and its
personas, an agency and its women, a loverboy and his girls, a duo, or one person working alone).
Each group is built from its own random stream, seeded by the corpus seed and the group's index, so
groups can be built in any order and in any process and give the same result.

``build_group`` makes the personas and the schedule of postings (time, persona, site, municipality,
kind, phone); ``signaal.synth.render`` turns the schedule into ad records and truth.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import random
from dataclasses import dataclass, field

from signaal.synth import names, phrases
from signaal.synth.config import SynthConfig
from signaal.synth.geodata import GeoTables, distance_km, tables
from signaal.synth.phones import FOREIGN_BY_REGION
from signaal.synth.text import Slots, TextPlan, make_plan, make_slots

DAY = 86_400

#: Relative weights of the family-A cues per class. The *number* of cues per ad has the same
#: distribution in every class (SynthConfig.cue_count_probs); only the mix differs, as in the
#: field: agencies write in the third person, touring workers and networks use movement words,
#: scammers ask for payment up front. None of these separate controlled from other workers.
CUE_WEIGHTS: dict[str, dict[str, float]] = {
    "independent": {
        "A02": 3,
        "A13": 3,
        "A05": 1,
        "A15": 1,
        "A03": 1,
        "A04": 0.6,
        "A09": 0.5,
        "A14": 0.4,
        "A10": 0.6,
        "A06": 0.4,
        "A16": 0.2,
        "A11": 0.2,
        "A12": 0.6,
        "A01": 0.2,
    },
    "touring": {
        "A12": 4,
        "A02": 2.5,
        "A13": 2,
        "A05": 1,
        "A15": 1,
        "A03": 1,
        "A04": 0.5,
        "A09": 0.6,
        "A14": 0.8,
        "A10": 0.5,
        "A06": 0.4,
        "A16": 0.2,
        "A11": 0.3,
        "A01": 0.2,
    },
    "agency": {
        "A01": 4,
        "A02": 2.5,
        "A13": 2.5,
        "A05": 1.2,
        "A03": 0.8,
        "A04": 0.4,
        "A10": 0.6,
        "A15": 0.4,
        "A14": 0.3,
        "A12": 0.5,
        "A09": 0.2,
    },
    "duo": {
        "A01": 2,
        "A02": 3,
        "A13": 2,
        "A05": 1,
        "A15": 1,
        "A03": 0.8,
        "A04": 0.6,
        "A10": 0.5,
        "A06": 0.5,
        "A12": 0.4,
        "A09": 0.3,
    },
    "scammer": {
        "A16": 3,
        "A02": 3.5,
        "A04": 1,
        "A05": 1.5,
        "A03": 0.8,
        "A10": 1,
        "A15": 1,
        "A12": 1,
        "A06": 0.5,
        "A09": 0.4,
        "A13": 0.5,
    },
    "loverboy": {
        "A02": 2.5,
        "A04": 1.5,
        "A05": 2,
        "A13": 1.5,
        "A14": 1,
        "A09": 1,
        "A12": 1,
        "A15": 1,
        "A06": 0.8,
        "A10": 0.6,
        "A03": 0.3,
    },
    "network": {
        "A12": 2.5,
        "A02": 2.5,
        "A03": 1.5,
        "A05": 1.5,
        "A09": 1.2,
        "A13": 1.5,
        "A14": 0.8,
        "A01": 0.6,
        "A06": 0.7,
        "A15": 1,
        "A10": 0.6,
        "A11": 0.5,
    },
}

#: Origin groups per class (weights): NL 40 / Eastern Europe 34 / Latin America 22 / other 4 for
#: unlicensed workers (Oost-NL police, n=109); networks are transnational by definition and
#: loverboys mostly Dutch (assumption).
ORIGIN_WEIGHTS: dict[str, dict[str, float]] = {
    "independent": {"nl": 40, "east": 34, "latin": 22, "other": 4},
    "touring": {"nl": 30, "east": 38, "latin": 28, "other": 4},
    "agency": {"nl": 50, "east": 30, "latin": 15, "other": 5},
    "duo": {"nl": 45, "east": 30, "latin": 20, "other": 5},
    "scammer": {"nl": 30, "east": 35, "latin": 30, "other": 5},
    "loverboy": {"nl": 85, "east": 5, "latin": 5, "other": 5},
    "network": {"east": 55, "latin": 45},
}
#: Language of the text per origin group (nl, en, mixed).
LANG_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "nl": (0.8, 0.05, 0.15),
    "east": (0.25, 0.5, 0.25),
    "latin": (0.25, 0.5, 0.25),
    "other": (0.4, 0.35, 0.25),
}
CATEGORIES: dict[str, tuple[tuple[str, float], ...]] = {
    "independent": (("prive-ontvangst", 4), ("thuisontvangst", 2), ("escort", 2), ("massage", 2)),
    "touring": (("prive-ontvangst", 5), ("escort", 3), ("massage", 1)),
    "agency": (("escort", 8), ("prive-ontvangst", 2)),
    "duo": (("prive-ontvangst", 5), ("escort", 3)),
    "scammer": (("escort", 5), ("prive-ontvangst", 3), ("massage", 1)),
    "loverboy": (("escort", 7), ("prive-ontvangst", 3)),
    "network": (("prive-ontvangst", 6), ("escort", 4), ("massage", 1)),
}
#: Hourly price (euro) ranges per class (assumption; scammers lure with low prices).
PRICE_60: dict[str, tuple[int, int]] = {
    "independent": (120, 250),
    "touring": (120, 220),
    "agency": (160, 260),
    "duo": (200, 350),
    "scammer": (60, 110),
    "loverboy": (80, 150),
    "network": (90, 160),
}
AGES: dict[str, tuple[int, int, int]] = {  # (low, mode, high) of the stated age
    "independent": (21, 28, 48),
    "touring": (21, 27, 40),
    "agency": (19, 24, 34),
    "duo": (20, 26, 38),
    "scammer": (19, 21, 25),
    "loverboy": (18, 19, 21),
    "network": (19, 22, 30),
}
HANDLE_SERVICES: tuple[str, ...] = ("telegram", "snapchat", "instagram")


@dataclass(slots=True)
class Persona:
    key: str  # "<group>.<k>": internal, names the photo originals
    persona_id: str
    worker_id: str
    name: str
    age: int
    minor: bool
    origin_group: str
    origin: str | None
    category: str
    price60: int
    sites: tuple[int, ...]
    photo_bases: tuple[tuple[str, int], ...]  # (owner persona key, photo index)
    handles: tuple[str, ...]
    emails: tuple[str, ...]
    plan: int  # index into Group.plans
    slots: Slots
    placement: str  # "field" | "text" | "both"
    start: float  # active window in days from the period start
    end: float


@dataclass(slots=True)
class Group:
    gi: int
    cls: str
    network_id: str
    personas: list[Persona]
    phones: list[tuple[str, int]]  # (block key, index of that block's phones in this group)
    plans: list[TextPlan]
    edit_rate: float
    # Postings: (t seconds from period start, persona, site, municipality, kind, listing,
    # phone index into ``phones``, city as written, variant). kind: 0 new, 1 repost, 2 renewal.
    # variant: 0 ordinary, -1 a second listing in a nearby municipality (no relocation),
    # n > 0 a duo listing written with plan n - 1.
    events: list[tuple[int, int, int, int, int, int, int, str, int]] = field(default_factory=list)
    # Relocations: (t, persona, from municipality or -1, to municipality).
    moves: list[tuple[int, int, int, int]] = field(default_factory=list)


_MASK48 = (1 << 48) - 1


def _mix48(x: int) -> int:
    """A bijection on 48-bit integers (xor-shifts and odd multipliers are invertible)."""
    x &= _MASK48
    x ^= x >> 23
    x = (x * 0x9E3779B97F4B) & _MASK48
    x ^= x >> 29
    x = (x * 0xBF58476D1CE5) & _MASK48
    x ^= x >> 31
    return x


def entity_id(prefix: str, seed: int, gi: int, k: int) -> str:
    """Opaque, corpus-unique ids that reveal neither the class nor the generation order."""
    salt = (seed * 131 + ord(prefix[0])) & 0xFFFF
    return f"{prefix}{_mix48((gi << 12 | k) ^ (salt << 32)):012x}"


def photo_count(cfg: SynthConfig, owner_key: str) -> int:
    lo, hi = cfg.photos_per_persona
    h = hashlib.blake2b(f"{cfg.seed}:{owner_key}".encode(), digest_size=4).digest()
    return lo + int.from_bytes(h, "big") % (hi - lo + 1)


def _weighted(rng: random.Random, items: dict[str, float]) -> str:
    keys = list(items)
    return rng.choices(keys, weights=[items[k] for k in keys])[0]


@functools.cache
def _name_cum(exponent: float) -> list[float]:
    return names.zipf_weights(len(names.AD_NAMES), exponent)


def popular_name(rng: random.Random, exponent: float) -> str:
    """A working name drawn with Zipf-like popularity (``SynthConfig.name_zipf``)."""
    cum = _name_cum(exponent)
    return names.AD_NAMES[bisect.bisect_left(cum, rng.random() * cum[-1])]


def variation_rng(cfg: SynthConfig, stage: str, gi: int) -> random.Random:
    """The random stream of the market-variation knobs for one group and stage: apart from the
    group's own stream, so knobs left at their defaults change nothing."""
    h = hashlib.blake2b(f"{stage}:{cfg.seed}:{gi}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(h, "big"))  # noqa: S311 (reproducible simulation)


def _pick_muni(rng: random.Random, geo: GeoTables) -> int:
    return bisect.bisect_left(geo.cum_weights, rng.random() * geo.cum_weights[-1])


def _pick_in_province(rng: random.Random, geo: GeoTables, province: str, exclude: int) -> int:
    members = geo.province_members[province]
    cum = geo.province_cum[province]
    for _ in range(8):
        i = members[bisect.bisect_left(cum, rng.random() * cum[-1])]
        if i != exclude:
            return i
    return members[rng.randrange(len(members))]


def _pick_other(rng: random.Random, geo: GeoTables, exclude: int) -> int:
    for _ in range(8):
        i = _pick_muni(rng, geo)
        if i != exclude:
            return i
    return (exclude + 1) % len(geo.names)


def _pick_nearby(rng: random.Random, geo: GeoTables, home: int) -> int:
    for _ in range(12):
        i = _pick_in_province(rng, geo, geo.provinces[home], home)
        if i != home and distance_km(geo, home, i) < 40:
            return i
    return _pick_in_province(rng, geo, geo.provinces[home], home)


def cue_set(rng: random.Random, cfg: SynthConfig, cls: str) -> tuple[str, ...]:
    n = rng.choices(range(len(cfg.cue_count_probs)), weights=cfg.cue_count_probs)[0]
    weights = dict(CUE_WEIGHTS[cls])
    chosen: list[str] = []
    for _ in range(n):
        c = _weighted(rng, weights)
        chosen.append(c)
        del weights[c]
    return tuple(chosen)


def _lang(rng: random.Random, origin_group: str) -> str:
    return rng.choices(("nl", "en", "mixed"), weights=LANG_WEIGHTS[origin_group])[0]


def _plan(rng: random.Random, cfg: SynthConfig, cls: str, lang: str, voice: str) -> TextPlan:
    """The shape of a persona's or a template's text; its cues are drawn per listing when the
    text is rendered (``text.with_cues``), so every class has the same number of cues per ad."""
    del cls  # the cue mix depends on the class, but it is applied per listing
    return make_plan(
        rng,
        lang=lang,
        voice=voice,
        cues=(),
        agency=voice == "3",
        emoji_share=cfg.emoji_share,
        typo_share=cfg.typo_text_share,
    )


def _age(rng: random.Random, cls: str) -> int:
    lo, mode, hi = AGES[cls]
    return round(rng.triangular(lo, hi, mode))


def _active(rng: random.Random, cfg: SynthConfig, cls: str) -> tuple[float, float]:
    lo, hi = cfg.active_days[cls]
    duration = rng.uniform(lo, hi)
    if rng.random() < cfg.active_at_start:
        return 0.0, min(float(cfg.days), max(7.0, duration * rng.uniform(0.3, 1.0)))
    start = rng.uniform(0.0, cfg.days - 7.0)
    return start, min(float(cfg.days), start + duration)


def _sites(rng: random.Random, cfg: SynthConfig, lo: int, hi: int) -> tuple[int, ...]:
    n = rng.randint(lo, hi)
    chosen: list[int] = []
    weights = list(cfg.site_weights)
    for _ in range(n):
        i = rng.choices(range(3), weights=weights)[0]
        chosen.append(i)
        weights[i] = 0.0
        if not any(weights):
            break
    return tuple(sorted(chosen))


def _placement(rng: random.Random, cfg: SynthConfig, plan: TextPlan) -> str:
    if any(p[0] == "c" and p[1] == "A09" for p in plan.pieces):
        return "text" if rng.random() < 0.4 else "both"
    return rng.choices(("field", "text", "both"), weights=cfg.phone_placement)[0]


class _Builder:
    """Builds one group; holds the group's random stream and counters."""

    def __init__(self, cfg: SynthConfig, gi: int, cls: str) -> None:
        self.cfg = cfg
        self.gi = gi
        self.cls = cls
        self.rng = random.Random(cfg.seed * 1_000_003 + gi * 7 + 1)  # noqa: S311 (reproducible simulation, not security)
        self.geo = tables()
        self.phones: list[tuple[str, int]] = []
        self.block_counts: dict[str, int] = {}
        self.plans: list[TextPlan] = []
        self.listing = 0
        self.vrng = variation_rng(cfg, "world", gi)

    def new_phone(self, block: str) -> int:
        n = self.block_counts.get(block, 0)
        self.block_counts[block] = n + 1
        self.phones.append((block, n))
        return len(self.phones) - 1

    def persona(
        self,
        k: int,
        *,
        worker: int,
        origin_group: str | None = None,
        age: int | None = None,
        minor: bool = False,
        plan: int | None = None,
        lang: str | None = None,
        voice: str = "1",
        sites: tuple[int, ...] | None = None,
        category: str | None = None,
        photo_bases: tuple[tuple[str, int], ...] | None = None,
        agency: str = "",
        window: tuple[float, float] | None = None,
        name: str | None = None,
    ) -> Persona:
        rng, cfg, cls = self.rng, self.cfg, self.cls
        og = origin_group or _weighted(rng, ORIGIN_WEIGHTS[cls])
        if name:
            nm = name
        elif cfg.name_zipf is not None:
            nm = popular_name(self.vrng, cfg.name_zipf)
        else:
            nm = rng.choice(phrases.NAMES[og])
        stated = age if age is not None else _age(rng, cls)
        if plan is None:
            self.plans.append(_plan(rng, cfg, cls, lang or _lang(rng, og), voice))
            plan = len(self.plans) - 1
        key = f"{self.gi}.{k}"
        origin_idx = rng.randrange(len(phrases.ORIGINS[og]))
        if photo_bases is None:
            photo_bases = tuple((key, i) for i in range(photo_count(cfg, key)))
        pid = entity_id("p", cfg.seed, self.gi, k)
        handles: tuple[str, ...] = ()
        emails: tuple[str, ...] = ()
        tag = pid[-5:]
        if rng.random() < 0.25:
            handles = (f"{rng.choice(HANDLE_SERVICES)}:@{nm.lower()}_{tag}",)
        if rng.random() < 0.15:
            emails = (f"{nm.lower()}.{tag}@{rng.choice(('example.com', 'example.net'))}",)
        cats = CATEGORIES[cls]
        lo, hi = PRICE_60[cls]
        start, end = window if window is not None else _active(rng, cfg, cls)
        return Persona(
            key=key,
            persona_id=pid,
            worker_id=entity_id("w", cfg.seed, self.gi, worker),
            name=nm,
            age=stated,
            minor=minor,
            origin_group=og,
            origin=phrases.ORIGINS[og][origin_idx][0],
            category=category or rng.choices([c for c, _ in cats], [w for _, w in cats])[0],
            price60=5 * round(rng.randint(lo, hi) / 5),
            sites=sites if sites is not None else _sites(rng, cfg, 1, 2),
            photo_bases=photo_bases,
            handles=handles,
            emails=emails,
            plan=plan,
            slots=make_slots(
                rng, name=nm, age=stated, origin_group=og, origin_idx=origin_idx, agency=agency
            ),
            placement=_placement(rng, cfg, self.plans[plan]),
            start=start,
            end=end,
        )

    # -- schedules -----------------------------------------------------------------------------
    def city_written(self, muni: int) -> str:
        rng, geo = self.rng, self.geo
        if rng.random() >= self.cfg.city_variant_share:
            return geo.names[muni]
        options = geo.variants[muni] + geo.villages[muni]
        return rng.choice(options) if options else geo.names[muni]

    def post(
        self,
        group: Group,
        p: int,
        stays: list[tuple[float, float, int]],
        phone_at: list[tuple[float, int]],
        *,
        variant: int = 0,
        sites: tuple[int, ...] | None = None,
    ) -> None:
        """Postings of persona ``p`` over her stays: a new listing per stay and site, then reposts
        and renewals every ``repost_days`` until the stay ends."""
        rng, cfg = self.rng, self.cfg
        lo, hi = cfg.repost_days[self.cls]
        persona = group.personas[p]
        starts = [a for a, _ in phone_at]
        for s in sites if sites is not None else persona.sites:
            for t0, t1, muni in stays:
                t0 = max(t0, persona.start)
                t1 = min(t1, persona.end)
                if t1 <= t0:
                    continue
                self.listing += 1
                city = self.city_written(muni)
                day = t0 + rng.random() * min(1.0, t1 - t0)
                kind = 0
                while day < t1:
                    t = int(day) * DAY + rng.randint(8 * 3600, 23 * 3600 + 3599)
                    phone = phone_at[bisect.bisect_right(starts, day) - 1][1]
                    group.events.append((t, p, s, muni, kind, self.listing, phone, city, variant))
                    if cfg.repost_share is not None and self.vrng.random() >= cfg.repost_share:
                        break  # a geometric number of reposts: the share of reposts is r
                    day += rng.randint(lo, hi) + rng.uniform(-0.3, 0.3)
                    kind = 2 if rng.random() < cfg.renewal_share else 1

    def moves(self, group: Group, p: int, stays: list[tuple[float, float, int]]) -> None:
        persona = group.personas[p]
        prev = -1
        for t0, t1, muni in stays:
            if t1 <= persona.start or t0 >= persona.end:
                continue
            if muni != prev:
                at = int(max(t0, persona.start) * DAY)
                group.moves.append((at, p, prev, muni))
            prev = muni

    def rotating_stays(
        self,
        start: float,
        end: float,
        first: int,
        stay: tuple[float, float],
        how: str,
        move_p: float = 1.0,
    ) -> list[tuple[float, float, int]]:
        rng, geo = self.rng, self.geo
        stays: list[tuple[float, float, int]] = []
        t, muni = start, first
        while t < end:
            length = rng.uniform(*stay)
            stays.append((t, min(end, t + length), muni))
            t += length
            if rng.random() < move_p:
                if how == "region":
                    muni = (
                        _pick_nearby(rng, geo, muni)
                        if rng.random() < 0.6
                        else _pick_in_province(rng, geo, geo.provinces[muni], muni)
                    )
                else:
                    muni = _pick_other(rng, geo, muni)
        return stays


def _phone_block(rng: random.Random, cfg: SynthConfig, og: str, foreign_p: float) -> str:
    if og in FOREIGN_BY_REGION and rng.random() < foreign_p:
        return rng.choice(FOREIGN_BY_REGION[og])
    return "NL"


def build_group(cfg: SynthConfig, gi: int, cls: str, victim: str | None = None) -> Group:
    """Build group ``gi`` of class ``cls`` (``victim``: a persona key whose photos a scammer
    steals). The same arguments always give the same group."""
    b = _Builder(cfg, gi, cls)
    rng, geo = b.rng, b.geo
    group = Group(
        gi=gi, cls=cls, network_id="", personas=[], phones=b.phones, plans=b.plans, edit_rate=0.0
    )
    if cls in ("independent", "touring"):
        p = b.persona(0, worker=0)
        group.personas.append(p)
        group.network_id = p.persona_id
        group.edit_rate = 0.01
        phone = b.new_phone(_phone_block(rng, cfg, p.origin_group, 0.1))
        phone_at = [(-1.0, phone)]
        if rng.random() < cfg.independent_phone_change_p:
            phone_at.append((rng.uniform(p.start, p.end), b.new_phone("NL")))
        home = _pick_muni(rng, geo)
        if cls == "independent":
            stays = [(p.start, p.end, home)]
            b.post(group, 0, stays, phone_at)
            b.moves(group, 0, stays)
            if rng.random() < cfg.independent_second_city_p:
                # A second listing in a nearby municipality, without relocating.
                b.post(
                    group,
                    0,
                    [(p.start, p.end, _pick_nearby(rng, geo, home))],
                    phone_at,
                    sites=p.sites[:1],
                    variant=-1,
                )
        else:
            stays = b.rotating_stays(p.start, p.end, home, cfg.touring_stay_days, "any")
            b.post(group, 0, stays, phone_at)
            b.moves(group, 0, stays)

    elif cls == "scammer":
        bases = None
        if victim is not None:
            bases = tuple((victim, i) for i in range(photo_count(cfg, victim)))
        p = b.persona(0, worker=0, photo_bases=bases, sites=_sites(rng, cfg, 2, 3))
        group.personas.append(p)
        group.network_id = p.persona_id
        group.edit_rate = 0.03
        phone_at = [(-1.0, b.new_phone(_phone_block(rng, cfg, p.origin_group, 0.3)))]
        stays = b.rotating_stays(p.start, p.end, _pick_muni(rng, geo), cfg.scammer_stay_days, "any")
        for t0, _, _ in stays[1:]:
            if rng.random() < 0.3:  # scammers burn numbers
                phone_at.append((t0, b.new_phone("NL")))
        b.post(group, 0, stays, phone_at)
        b.moves(group, 0, stays)

    elif cls == "agency":
        group.network_id = entity_id("n", cfg.seed, gi, 0)
        agency = f"{rng.choice(phrases.AGENCY_WORDS)} {rng.choice(phrases.AGENCY_KINDS)}"
        lang = rng.choices(("nl", "en", "mixed"), weights=(0.7, 0.15, 0.15))[0]
        b.plans.append(_plan(rng, cfg, cls, lang, "3"))
        group.edit_rate = 0.02
        sites = _sites(rng, cfg, 1, 2)
        home = _pick_muni(rng, geo)
        phone = b.new_phone("NL")
        email = f"info@{agency.lower().replace(' ', '-')}-{group.network_id[-4:]}.example"
        start, end = _active(rng, cfg, cls)
        for k in range(rng.randint(*cfg.agency_size)):
            w0 = rng.uniform(start, start + (end - start) * 0.5)
            w1 = min(end, w0 + rng.uniform(21, 120))
            p = b.persona(
                k, worker=k, plan=0, sites=sites, category="escort", agency=agency, window=(w0, w1)
            )
            p.emails = (email,)
            group.personas.append(p)
            stays = [(w0, w1, home)]
            b.post(group, k, stays, [(-1.0, phone)])
            b.moves(group, k, stays)

    elif cls == "duo":
        group.network_id = entity_id("n", cfg.seed, gi, 0)
        og = _weighted(rng, ORIGIN_WEIGHTS[cls])
        start, end = _active(rng, cfg, cls)
        p0 = b.persona(0, worker=0, origin_group=og, window=(start, end))
        p1 = b.persona(1, worker=1, origin_group=og, window=(start, end), sites=p0.sites)
        group.personas += [p0, p1]
        group.edit_rate = 0.01
        phones = [b.new_phone("NL"), b.new_phone(_phone_block(rng, cfg, og, 0.1))]
        home = _pick_muni(rng, geo)
        stays = [(start, end, home)]
        for k in (0, 1):
            b.post(group, k, stays, [(-1.0, phones[k])])
            b.moves(group, k, stays)
        # The duo listing is placed by persona 0 with her phone (see docs/synthetic-data.md).
        b.plans.append(_plan(rng, cfg, cls, _lang(rng, og), "we"))
        b.post(group, 0, stays, [(-1.0, phones[0])], variant=len(b.plans), sites=p0.sites[:1])

    elif cls == "loverboy":
        group.network_id = entity_id("n", cfg.seed, gi, 0)
        lang = rng.choices(("nl", "mixed"), weights=(0.85, 0.15))[0]
        b.plans.append(_plan(rng, cfg, cls, lang, "1"))
        group.edit_rate = 0.04
        start, end = _active(rng, cfg, cls)
        phone = b.new_phone("NL")  # the controller's phone
        stays = b.rotating_stays(start, end, _pick_muni(rng, geo), cfg.loverboy_move_days, "region")
        for k in range(rng.randint(*cfg.loverboy_size)):
            minor = rng.random() < cfg.minor_share_controlled
            w0 = start if k == 0 else rng.uniform(start, (start + end) / 2)
            p = b.persona(
                k,
                worker=k,
                origin_group="nl" if rng.random() < 0.85 else None,
                age=rng.choice((18, 19)) if minor else None,
                minor=minor,
                plan=0,
                window=(w0, end),
            )
            group.personas.append(p)
            b.post(group, k, stays, [(-1.0, phone)])
            b.moves(group, k, stays)

    elif cls == "network":
        group.network_id = entity_id("n", cfg.seed, gi, 0)
        region = rng.choice(("east", "latin"))
        voice = "3" if rng.random() < 0.2 else "1"
        front = (
            f"{rng.choice(phrases.AGENCY_WORDS)} {rng.choice(phrases.AGENCY_KINDS)}"
            if voice == "3"
            else ""
        )
        for _ in range(rng.randint(*cfg.network_templates)):
            b.plans.append(_plan(rng, cfg, cls, _lang(rng, region), voice))
        group.edit_rate = rng.uniform(*cfg.template_edit_rate)
        start, end = _active(rng, cfg, cls)
        # Phone slots: each lives 2-8 weeks, then a new number replaces it.
        slots: list[list[tuple[float, int]]] = []
        for _ in range(rng.randint(*cfg.network_phones)):
            timeline: list[tuple[float, int]] = []
            t = -1.0
            while t < end:
                block = _phone_block(rng, cfg, region, cfg.network_foreign_phone_share)
                timeline.append((t, b.new_phone(block)))
                t = max(t, start) + rng.uniform(*cfg.network_phone_lifetime_days)
            slots.append(timeline)
        stays = b.rotating_stays(
            start, end, _pick_muni(rng, geo), (7.0, 7.0), "any", move_p=cfg.network_weekly_move_p
        )
        n = rng.randint(*cfg.network_size)
        k = 0
        for j in range(n):
            w0 = start if j < 2 else rng.uniform(start, (start + end) / 2)
            w1 = end
            rebrand = rng.random() < cfg.network_rebrand_p and w1 - w0 > 28
            if rebrand:
                w1 = rng.uniform(w0 + 14, end - 7)
            minor = rng.random() < cfg.minor_share_controlled
            plan = rng.randrange(len(b.plans))
            sites = _sites(rng, cfg, 1, 3)
            own: tuple[tuple[str, int], ...] | None = None
            if group.personas and rng.random() < cfg.network_photo_reuse:
                other = rng.choice(group.personas)
                key = f"{gi}.{k}"
                own = tuple((key, i) for i in range(photo_count(cfg, key)))
                shared = other.photo_bases[: rng.randint(1, 2)]
                own = own[: max(1, len(own) - len(shared))] + shared
            p = b.persona(
                k,
                worker=j,
                origin_group=region,
                plan=plan,
                sites=sites,
                age=rng.choice((18, 19)) if minor else None,
                minor=minor,
                photo_bases=own,
                window=(w0, w1),
                agency=front,
            )
            group.personas.append(p)
            slot = slots[j % len(slots)]
            b.post(group, k, stays, slot)
            b.moves(group, k, stays)
            k += 1
            if rebrand:
                # The same woman, advertised under a new identity on the same phones (D04).
                q = b.persona(
                    k,
                    worker=j,
                    origin_group=region,
                    plan=plan,
                    sites=sites,
                    minor=minor,
                    age=rng.choice((18, 19)) if minor else None,
                    window=(w1, end),
                    agency=front,
                )
                group.personas.append(q)
                b.post(group, k, stays, slot)
                b.moves(group, k, stays)
                k += 1
    else:
        raise ValueError(f"unknown worker class {cls!r}")

    if (
        cfg.shared_boilerplate_share > 0.0
        and cls in ("agency", "network")
        and b.vrng.random() < cfg.shared_boilerplate_share
    ):
        # The whole agency or network advertises one messenger handle beside each woman's own.
        group_handle = f"{b.vrng.choice(HANDLE_SERVICES)}:@{group.network_id[-6:]}_bookings"
        for persona in group.personas:
            persona.handles = (group_handle, *persona.handles)
    group.events.sort()
    group.moves.sort()
    return group
