"""Turning a group's schedule into ad records, truth lines, movements, photo and page tasks.

Everything a posting shows is derived from the group (built by ``world.build_group``) and from
random streams seeded by the corpus seed, the group and the listing, so the output does not depend
on which process renders which group.
"""

from __future__ import annotations

import hashlib
import random
import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from signaal.synth.config import CONTROLLED_CLASSES, SynthConfig
from signaal.synth.geodata import tables
from signaal.synth.names import name_variant
from signaal.synth.phones import BLOCKS, display_forms, obfuscated_form, phone_number
from signaal.synth.sites import SITES, ad_id_and_url
from signaal.synth.text import Cue, TextPlan, render, with_cues
from signaal.synth.world import DAY, Group, Persona, cue_set, variation_rng

_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class GroupRef:
    """A planned group: which one, how many of its postings are kept, and its serial bases."""

    gi: int
    cls: str
    take: int
    victim: str | None
    ad_base: int  # serial of the group's first posting (corpus-unique ids)
    phone_base: tuple[tuple[str, int], ...]  # per phone block: index of the group's first phone


@dataclass(frozen=True, slots=True)
class PhotoTask:
    path: str  # relative to the corpus directory
    owner: str  # persona key of the original photo
    index: int  # which photo of the owner's set
    site: str  # watermark
    variant: str  # seeds the re-encoding, resize, crop


@dataclass(slots=True)
class Rendered:
    lines: list[tuple[str, bytes, bytes]]  # (sort key, ad JSON, truth JSON)
    moves: list[tuple[str, bytes]]  # (sort key, movement JSON)
    photos: list[PhotoTask]
    pages: list[tuple[str, dict[str, Any]]]  # (site key, ad record) for site-shaped pages


@cache
def _clock(start: date, tz_name: str, days: int) -> tuple[float, tuple[int, ...]]:
    """Epoch of local midnight on the first day, and each day's UTC offset in seconds."""
    tz = ZoneInfo(tz_name)
    midnight = datetime(start.year, start.month, start.day, tzinfo=tz)
    offsets = []
    for d in range(days + 2):
        noon = datetime.combine(start + timedelta(days=d), datetime.min.time()).replace(
            hour=12, tzinfo=tz
        )
        off = noon.utcoffset()
        offsets.append(int(off.total_seconds()) if off is not None else 0)
    return midnight.timestamp(), tuple(offsets)


@cache
def _days(start: date, tz_name: str, days: int) -> tuple[tuple[str, str], ...]:
    """Per day of the period: the date prefix and the UTC offset suffix of its timestamps."""
    _, offsets = _clock(start, tz_name, days)
    out = []
    for d, off in enumerate(offsets):
        sign = "+" if off >= 0 else "-"
        hh, mm = divmod(abs(off) // 60, 60)
        out.append(((start + timedelta(days=d)).isoformat() + "T", f"{sign}{hh:02d}:{mm:02d}"))
    return tuple(out)


def local_iso(cfg: SynthConfig, t: int) -> str:
    """ISO 8601 local time with the UTC offset of the posting ``t`` seconds into the period.

    ``t`` counts seconds of local clock time from midnight of the first day (the schedule is
    drawn in local hours), so the day and the clock time follow from it directly.
    """
    table = _days(cfg.start, cfg.timezone, cfg.days)
    d, rest = divmod(max(t, 0), DAY)
    d = min(d, len(table) - 1)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    prefix, suffix = table[d]
    return f"{prefix}{h:02d}:{m:02d}:{sec:02d}{suffix}"


def utc_epoch(cfg: SynthConfig, t: int) -> int:
    """Seconds since 1970 (UTC) of the local clock time ``t`` (see ``local_iso``)."""
    epoch, offsets = _clock(cfg.start, cfg.timezone, cfg.days)
    d = min(max(t, 0) // DAY, len(offsets) - 1)
    return int(epoch) + t - (offsets[d] - offsets[0])


def _h(*parts: object) -> int:
    return int.from_bytes(
        hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest(), "big"
    )


def page_threshold(cfg: SynthConfig) -> float:
    if cfg.ads <= 0:
        return 0.0
    return min(cfg.page_share, cfg.page_max / cfg.ads)


def wants_page(ad_id: str, threshold: float) -> bool:
    return zlib.crc32(ad_id.encode()) / 2**32 < threshold


def _prices(
    site_keys: tuple[str, ...], price60: int, rng: random.Random
) -> dict[str, float | None]:
    factor = {"15min": 0.4, "30min": 0.6, "45min": 0.8, "60min": 1.0, "120min": 1.8}
    out: dict[str, float | None] = {}
    for k in site_keys:
        if k != "60min" and rng.random() < 0.15:
            out[k] = None
        else:
            out[k] = float(5 * round(price60 * factor[k] / 5))
    return out


#: Words written before a number in the text (``SynthConfig.messenger_share``).
MESSENGER_WORDS: tuple[str, ...] = (
    "WhatsApp",
    "whatsapp",
    "WhatsApp:",
    "WA",
    "telegram:",
    "Telegram",
    "sms me",
    "sms/app",
    "app me op",
    "Signal:",
)


def site_boilerplate(site_key: str, domain: str, lang: str) -> str:
    """The closing line a site adds to every ad that carries it, with the site's own handle."""
    if lang == "en":
        return f"Find more ladies on {domain} - follow us on telegram @{site_key}_official"
    return f"Meer dames op {domain} - volg ons op telegram @{site_key}_official"


def _varies(cfg: SynthConfig) -> bool:
    return bool(
        cfg.name_variant_share
        or cfg.no_age_share
        or cfg.no_name_share
        or cfg.no_phone_share
        or cfg.messenger_share
        or cfg.shared_boilerplate_share
    )


def render_group(cfg: SynthConfig, ref: GroupRef, group: Group) -> Rendered:
    geo = tables()
    bases = dict(ref.phone_base)
    numbers = [phone_number(BLOCKS[blk], bases[blk] + n) for blk, n in group.phones]
    cls = group.cls
    controlled = cls in CONTROLLED_CLASSES
    events = group.events[: ref.take]
    last_t: dict[int, int] = {}
    for ev in events:
        last_t[ev[1]] = ev[0]
    listings: dict[int, tuple[str, str, list[Cue], str, str]] = {}
    listing_plans: dict[int, TextPlan] = {}
    listing_prices: dict[int, dict[str, float | None]] = {}
    photos: dict[str, PhotoTask] = {}
    threshold = page_threshold(cfg)
    out = Rendered(lines=[], moves=[], photos=[], pages=[])
    # One stream for the whole group: a group is always rendered whole, in order, by one process.
    rng = random.Random(cfg.seed * 2_000_029 + group.gi * 11 + 5)  # noqa: S311 (simulation)
    lrng = rng
    # The knobs' own stream (see world.variation_rng): untouched when every knob is off.
    vary = _varies(cfg)
    vrng = variation_rng(cfg, "render", group.gi)
    hidden: dict[int, bool] = {}  # listing -> shows no number at all
    for n, (t, p, s, muni, kind, listing, phone_i, city, variant) in enumerate(events):
        persona: Persona = group.personas[p]
        site = SITES[s]
        e164 = numbers[phone_i]
        prev = listings.get(listing)
        name = persona.name
        photo_personas = [persona]
        if variant > 0:
            partner = group.personas[1]
            name = f"{persona.name} & {partner.name}"
            photo_personas.append(partner)
        if prev is not None and kind == 2 and prev[4] == e164:
            title, text, cues, shown, _ = prev
        else:
            plan_i = variant - 1 if variant > 0 else persona.plan
            # Cues are drawn per listing (not per persona or template), so that every class has
            # the same distribution of the number of cues per ad; reposts keep them.
            plan_or_none = listing_plans.get(listing)
            if plan_or_none is None:
                plan = with_cues(group.plans[plan_i], lrng, cue_set(lrng, cfg, cls))
                listing_plans[listing] = plan
            else:
                plan = plan_or_none
            forms = display_forms(e164)
            shown = (
                forms[lrng.choice(site.phone_styles) % len(forms)]
                if persona.placement != "text"
                else ""
            )
            in_text = forms[lrng.randrange(len(forms))] if persona.placement != "field" else None
            obfuscated = (
                obfuscated_form(e164, lrng, "en" if plan.lang == "en" else "nl")
                if any(piece[1] == "A09" for piece in plan.pieces if piece[0] == "c")
                else None
            )
            messenger = None
            boilerplate = False
            if vary:
                if listing not in hidden:
                    hidden[listing] = vrng.random() < cfg.no_phone_share and obfuscated is None
                if hidden[listing]:
                    shown, in_text = "", None
                if (in_text is not None or obfuscated is not None) and (
                    vrng.random() < cfg.messenger_share
                ):
                    messenger = vrng.choice(MESSENGER_WORDS)
                boilerplate = vrng.random() < cfg.shared_boilerplate_share
            slots = persona.slots
            if variant > 0:
                slots = type(slots)(
                    **{**{f: getattr(slots, f) for f in slots.__slots__}, "name": name}
                )
            text_city = city if not city.isupper() and not city.islower() else geo.names[muni]
            title, text, cues = render(
                plan,
                slots,
                city=text_city,
                phone_text=in_text,
                phone_obfuscated=obfuscated,
                rng=lrng,
                edit_rate=group.edit_rate if prev is None else group.edit_rate + 0.01,
                school_cue=persona.minor and lrng.random() < cfg.minor_school_cue_p,
                typo_rate=cfg.typo_word_rate,
                messenger=messenger,
            )
            if boilerplate:
                text += plan.separator + site_boilerplate(site.key, site.domain, plan.lang)
            listings[listing] = (title, text, cues, shown, e164)
        day = _days(cfg.start, cfg.timezone, cfg.days)[min(t // DAY, cfg.days + 1)][0]
        day = day[0:4] + day[5:7] + day[8:10]
        ad_id, url = ad_id_and_url(
            site, ref.ad_base + n, title=title, name=name, category=persona.category, day=day
        )
        images: list[str] = []
        if cfg.photos:
            for who in photo_personas:
                for owner, idx in who.photo_bases:
                    h = _h(cfg.seed, who.key, site.key, owner, idx)
                    path = f"photos/{site.key}/{h:016x}.jpg"
                    images.append(path)
                    if path not in photos:
                        photos[path] = PhotoTask(path, owner, idx, site.domain, f"{h:016x}")
        prices = listing_prices.get(listing)
        if prices is None:  # prices stay the same across the postings of a listing
            prices = listing_prices[listing] = _prices(site.price_keys, persona.price60, rng)
        record: dict[str, Any] = {
            "id": ad_id,
            "site": site.domain,
            "url": url,
            "posted_at": local_iso(cfg, t),
            "title": title,
            "text": text,
            "city": city,
            "phones": [shown] if shown else [],
            "emails": list(persona.emails) if site.shows_email else [],
            "handles": list(persona.handles) if site.shows_handles else [],
            "name": name,
            "age": persona.age,
            "origin": persona.origin if site.shows_origin else None,
            "category": persona.category,
            "prices": dict(prices),
            "images": images,
        }
        shows_number = True
        if vary:
            shows_number = not hidden.get(listing, False)
            if variant == 0 and vrng.random() < cfg.name_variant_share:
                record["name"] = name_variant(name, vrng)
            if vrng.random() < cfg.no_name_share:
                record["name"] = None
            if vrng.random() < cfg.no_age_share:
                record["age"] = None
        truth = {
            "ad_id": ad_id,
            "persona_id": persona.persona_id,
            "network_id": group.network_id,
            "worker_id": persona.worker_id,
            "class": cls,
            "controlled": controlled,
            "minor": persona.minor,
            "municipality": geo.names[muni],
            "indicators": [
                {
                    "id": c.indicator,
                    "field": c.field,
                    "start": c.start,
                    "end": c.end,
                    "text": c.text,
                }
                for c in cues
            ],
            "phones": [e164] if shows_number else [],
            "listing": f"{group.network_id}:{listing}",
            "kind": ("new", "repost", "renewal")[kind],
            "duo": variant > 0,
        }
        key = f"{utc_epoch(cfg, t):011d}\x1f{ad_id}"
        out.lines.append((key, orjson.dumps(record), orjson.dumps(truth)))
        if threshold and wants_page(ad_id, threshold):
            out.pages.append((site.key, record))
    for at, p, frm, to in group.moves:
        persona = group.personas[p]
        if p not in last_t or at > last_t[p]:
            continue
        move = {
            "persona_id": persona.persona_id,
            "network_id": group.network_id,
            "worker_id": persona.worker_id,
            "class": cls,
            "from_municipality": geo.names[frm] if frm >= 0 else None,
            "to_municipality": geo.names[to],
            "at": local_iso(cfg, at),
        }
        out.moves.append((f"{utc_epoch(cfg, at):011d}\x1f{persona.persona_id}", orjson.dumps(move)))
    out.photos = list(photos.values())
    return out
