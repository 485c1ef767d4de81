"""Composing ad titles and texts from the phrase banks, with the planted cues' character spans.

A :class:`TextPlan` fixes the *shape* of a text: language per sentence, which sentence of each
slot, decorative emoji. Independents get one plan each (unique texts); a network or an agency
shares one to three plans between its personas (templates), filled with each persona's slots and
edited a little per ad. Each listing gets its own cues (``with_cues``). Rendering tracks the
character offsets of every cue, so the truth can name each planted indicator's span exactly.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from signaal.synth import phrases

# A piece of a plan: (kind, key, lang, index). kind "s" = sentence of slot ``key``; "c" = cue
# ``key``; "k" = the contact sentence (with or without the phone, decided per ad).
Piece = tuple[str, str, str, int]

_OPTIONAL_SLOTS: tuple[tuple[str, float], ...] = (
    ("greeting", 0.8),
    ("intro", 1.0),
    ("describe", 0.8),
    ("location", 0.85),
    ("services", 0.7),
    ("hours", 0.5),
    ("contact", 1.0),
    ("closing", 0.7),
)


@dataclass(frozen=True, slots=True)
class TextPlan:
    lang: str  # "nl" | "en" | "mixed"
    voice: str  # "1" | "3" | "we"
    pieces: tuple[Piece, ...]
    title: tuple[str, int]  # (lang, index into TITLES or TITLES_AGENCY)
    title_cue: str | None
    emoji_after: tuple[int, ...]  # piece positions followed by a decorative emoji
    emoji: tuple[str, ...]
    typos: bool
    separator: str


@dataclass(frozen=True, slots=True)
class Slots:
    """The persona-specific values a plan is filled with."""

    name: str
    age: int | None
    origin_group: str
    origin_idx: int  # index into phrases.ORIGINS[origin_group]
    adj: tuple[int, int]
    feature: int
    services: tuple[int, ...]
    hours: int
    agency: str


@dataclass(frozen=True, slots=True)
class Cue:
    indicator: str
    field: str  # "text" | "title"
    start: int
    end: int
    text: str


def _parse_bracket(template: str) -> tuple[str, str, str]:
    i = template.index("[")
    j = template.index("]", i)
    return template[:i], template[i + 1 : j], template[j + 1 :]


def _piece_lang(rng: random.Random, lang: str) -> str:
    if lang == "mixed":
        return "nl" if rng.random() < 0.5 else "en"
    return lang


def _insert_cues(
    rng: random.Random, pieces: list[Piece], lang: str, cues: tuple[str, ...], agency: bool
) -> tuple[list[Piece], tuple[str, int], str | None]:
    """Insert cue sentences at random places (one cue may go into the title instead)."""
    pieces = list(pieces)
    title_cue: str | None = None
    title_lang = _piece_lang(rng, lang)
    titles = (phrases.TITLES_AGENCY if agency else phrases.TITLES)[title_lang]
    text_cues = list(cues)
    candidates = [i for i, (_, c) in enumerate(titles) if c is not None and c in text_cues]
    if candidates and rng.random() < 0.35:
        title_idx = rng.choice(candidates)
        title_cue = titles[title_idx][1]
        text_cues.remove(title_cue)  # type: ignore[arg-type]
    else:
        plain = [i for i, (_, c) in enumerate(titles) if c is None]
        title_idx = rng.choice(plain)
    for cue in text_cues:
        cue_lang = _piece_lang(rng, lang)
        if cue == "A11":
            cue_lang = "nl"
        pos = rng.randrange(2, len(pieces) + 1) if len(pieces) > 2 else len(pieces)
        if cue == "A09":
            # The obfuscated number replaces the plain contact sentence.
            pieces = [p for p in pieces if p[0] != "k"]
            pos = min(pos, len(pieces))
        pieces.insert(pos, ("c", cue, cue_lang, rng.randrange(1 << 16)))
    return pieces, (title_lang, title_idx), title_cue


def with_cues(plan: TextPlan, rng: random.Random, cues: tuple[str, ...]) -> TextPlan:
    """A shared template (agency, loverboy, network) with this listing's own cues planted."""
    base = [p for p in plan.pieces if p[0] != "c"]
    if not any(p[0] == "k" for p in base):  # the plan had an A09 cue in place of the contact
        base.insert(max(0, len(base) - 1), ("k", "contact", _piece_lang(rng, plan.lang), 0))
    pieces, title, title_cue = _insert_cues(rng, base, plan.lang, cues, plan.voice == "3")
    n = len(pieces)
    keep = [(i, e) for i, e in zip(plan.emoji_after, plan.emoji, strict=True) if i < n]
    return TextPlan(
        lang=plan.lang,
        voice=plan.voice,
        pieces=tuple(pieces),
        title=title if title_cue is not None or rng.random() < 0.5 else plan.title,
        title_cue=title_cue,
        emoji_after=tuple(i for i, _ in keep),
        emoji=tuple(e for _, e in keep),
        typos=plan.typos,
        separator=plan.separator,
    )


def make_plan(
    rng: random.Random,
    *,
    lang: str,
    voice: str,
    cues: tuple[str, ...],
    agency: bool,
    emoji_share: float,
    typo_share: float,
) -> TextPlan:
    """Draw the shape of a text with the given cue ids planted in it."""
    pieces: list[Piece] = []
    for slot, p in _OPTIONAL_SLOTS:
        if p >= 1.0 or rng.random() < p:
            if slot == "contact":
                pieces.append(("k", slot, _piece_lang(rng, lang), rng.randrange(1 << 16)))
            else:
                pieces.append(("s", slot, _piece_lang(rng, lang), rng.randrange(1 << 16)))
    if len(pieces) > 4 and rng.random() < 0.4:  # vary the order of the middle sentences
        i = rng.randrange(2, len(pieces) - 2)
        pieces[i], pieces[i + 1] = pieces[i + 1], pieces[i]
    pieces, title, title_cue = _insert_cues(rng, pieces, lang, cues, agency)
    emoji_after: tuple[int, ...] = ()
    emoji: tuple[str, ...] = ()
    if rng.random() < emoji_share:
        n = rng.randint(1, 2)
        emoji_after = tuple(sorted(rng.sample(range(len(pieces)), min(n, len(pieces)))))
        emoji = tuple(rng.choice(phrases.DECOR_EMOJI) for _ in emoji_after)
    return TextPlan(
        lang=lang,
        voice=voice,
        pieces=tuple(pieces),
        title=title,
        title_cue=title_cue,
        emoji_after=emoji_after,
        emoji=emoji,
        typos=rng.random() < typo_share,
        separator=rng.choice((" ", " ", "\n", " ")),
    )


def make_slots(
    rng: random.Random,
    *,
    name: str,
    age: int | None,
    origin_group: str,
    origin_idx: int,
    agency: str = "",
) -> Slots:
    n_adj = len(phrases.ADJ["nl"])
    a1 = rng.randrange(n_adj)
    a2 = (a1 + rng.randrange(1, n_adj)) % n_adj
    k = rng.randint(2, 4)
    return Slots(
        name=name,
        age=age,
        origin_group=origin_group,
        origin_idx=origin_idx,
        adj=(a1, a2),
        feature=rng.randrange(len(phrases.FEATURES["nl"])),
        services=tuple(sorted(rng.sample(range(len(phrases.SERVICES["nl"])), k))),
        hours=rng.randrange(len(phrases.HOURS["nl"])),
        agency=agency,
    )


def _values(slots: Slots, lang: str, city: str) -> dict[str, str]:
    origin = phrases.ORIGINS[slots.origin_group][slots.origin_idx]
    return {
        "name": slots.name,
        "age": str(slots.age) if slots.age is not None else "",
        "city": city,
        "origin": origin[1] if lang == "nl" else origin[2],
        "adj1": phrases.ADJ[lang][slots.adj[0]],
        "adj2": phrases.ADJ[lang][slots.adj[1]],
        "feature": phrases.FEATURES[lang][slots.feature],
        "services": ", ".join(phrases.SERVICES[lang][i] for i in slots.services),
        "hours": phrases.HOURS[lang][slots.hours],
        "agency": slots.agency,
    }


_VALUES_CACHE: dict[tuple[int, str], tuple[Slots, dict[str, dict[str, str]]]] = {}


def _values_cached(slots: Slots, city: str) -> dict[str, dict[str, str]]:
    key = (id(slots), city)
    hit = _VALUES_CACHE.get(key)
    if hit is not None and hit[0] is slots:
        return hit[1]
    if len(_VALUES_CACHE) > 4096:
        _VALUES_CACHE.clear()
    vals = {lg: _values(slots, lg, city) for lg in ("nl", "en")}
    _VALUES_CACHE[key] = (slots, vals)
    return vals


_TYPO_OPS = 3


def _gap(rng: random.Random, log_keep: float) -> int:
    """Words until the next edited one when each word is edited with probability ``rate``
    (geometric; ``log_keep = log(1 - rate)``), so unedited words cost no random draws."""
    return int(math.log(1.0 - rng.random()) / log_keep)


def _edit_word(w: str, rng: random.Random, typos: bool, droppable: bool) -> str | None:
    syn = phrases.SYNONYMS.get(w)
    op = rng.randrange(4)
    if syn is not None and op < 2:
        return rng.choice(syn)
    if op == 2 and droppable:
        return None  # drop the word
    if len(w) > 3 and w.isalpha():
        i = rng.randrange(len(w) - 1)
        kind = rng.randrange(_TYPO_OPS) if typos else 0
        if kind == 0:
            return w[:i] + w[i + 1] + w[i] + w[i + 2 :]
        if kind == 1:
            return w[:i] + w[i + 1 :]
        return w[:i] + w[i] + w[i:]
    return w + " " + w if op == 3 else w


def _edit_words(sentence: str, rng: random.Random, rate: float, typos: bool) -> str:
    """Token edits, each word with probability ``rate``: synonym swaps, dropped or doubled
    words, letter typos."""
    if rate <= 0.0:
        return sentence
    log_keep = math.log1p(-min(rate, 0.95))
    words = sentence.split(" ")
    n = len(words)
    i = _gap(rng, log_keep)
    if i >= n:
        return sentence
    out = words[:i]
    while i < n:
        edited = _edit_word(words[i], rng, typos, n > 3)
        if edited is not None:
            out.append(edited)
        j = i + 1 + _gap(rng, log_keep)
        out.extend(words[i + 1 : j])
        i = j
    return " ".join(out)


_MESSENGER_TAILS = ("whatsapp", "sms", "telegram", "signal", "wa")


def _names_messenger(before: str) -> bool:
    """Whether a contact sentence already says how to reach her right before the number."""
    return before.lower().rstrip(" :/").endswith(_MESSENGER_TAILS)


def render(
    plan: TextPlan,
    slots: Slots,
    *,
    city: str,
    phone_text: str | None,
    phone_obfuscated: str | None,
    rng: random.Random,
    edit_rate: float,
    school_cue: bool,
    typo_rate: float = 0.03,
    messenger: str | None = None,
) -> tuple[str, str, list[Cue]]:
    """Fill a plan: returns (title, text, planted cues with spans).

    ``phone_text`` is the plain display form to put in the contact sentence (None: the number is
    not in the text); ``phone_obfuscated`` is the obfuscated form for an A09 cue. ``messenger``
    (e.g. "WhatsApp") is written before every number in the text, outside the cue's span.
    """
    lead = messenger + " " if messenger else ""
    cues: list[Cue] = []
    vals = _values_cached(slots, city)
    typo_rate = typo_rate if plan.typos else 0.0

    # Title.
    title_lang, title_idx = plan.title
    titles = (phrases.TITLES_AGENCY if plan.voice == "3" else phrases.TITLES)[title_lang]
    title_template = titles[title_idx % len(titles)][0]
    tv = dict(vals[title_lang])
    tv["adj1"] = tv["adj1"].capitalize()
    if plan.title_cue is not None and "[" in title_template:
        before, key, after = _parse_bracket(title_template)
        b = before.format_map(tv)
        k = key.format_map(tv)
        title = b + k + after.format_map(tv)
        cues.append(Cue(plan.title_cue, "title", len(b), len(b) + len(k), k))
    else:
        title = title_template.replace("[", "").replace("]", "").format_map(tv)

    parts: list[str] = []
    pos = 0
    sep = plan.separator
    emoji_at = dict(zip(plan.emoji_after, plan.emoji, strict=True))
    pieces = list(plan.pieces)
    if school_cue:
        pieces.insert(min(3, len(pieces)), ("c", "E02", "nl", rng.randrange(1 << 16)))
    for n, (kind, key, lang, idx) in enumerate(pieces):
        v = vals[lang]
        if parts:
            parts.append(sep)
            pos += len(sep)
        if kind == "c":
            if key == "A09":
                frames = phrases.A09_FRAMES[lang]
                template = frames[idx % len(frames)]
                before, _, after = _parse_bracket(template)
                evidence = phone_obfuscated or ""
                b = before if not lead or _names_messenger(before) else before + lead
                sentence = b + evidence + after
                start = pos + len(b)
                cues.append(Cue("A09", "text", start, start + len(evidence), evidence))
            else:
                options = phrases.CUES[key][lang]
                template = options[idx % len(options)]
                before, ckey, after = _parse_bracket(template)
                b = before.format_map(v)
                k = ckey.format_map(v)
                sentence = b + k + after.format_map(v)
                start = pos + len(b)
                cues.append(Cue(key, "text", start, start + len(k), k))
        else:
            if kind == "k":
                slot = "contact" if phone_text is not None else "contact_nophone"
            else:
                slot = key
            options = phrases.SENTENCES[lang][slot][plan.voice]
            raw = options[idx % len(options)]
            if kind == "k" and phone_text is not None:
                said = _names_messenger(raw[: raw.find("{phone}")]) if lead else True
                sentence = raw.format_map(v | {"phone": phone_text if said else lead + phone_text})
            else:
                sentence = raw.format_map(v)
                if edit_rate > 0 or typo_rate > 0:
                    sentence = _edit_words(sentence, rng, edit_rate + typo_rate, plan.typos)
            if slot == "greeting" or slot == "closing":
                sentence = sentence.strip()
        if n in emoji_at:
            sentence = sentence + " " + emoji_at[n]
        parts.append(sentence)
        pos += len(sentence)
    return title, "".join(parts), cues
