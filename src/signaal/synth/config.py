"""Every parameter of the synthetic ad market, with its default.

Each default is explained in docs/synthetic-data.md with its source (INDICATORS.md sections 2, 3 and
5b) or marked as an assumption. The configuration is plain data: it is written to the corpus's
``manifest.json`` so a corpus can be regenerated from it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

#: Worker classes in the order the planner fills them (see docs/synthetic-data.md).
CLASSES: tuple[str, ...] = (
    "independent",
    "touring",
    "agency",
    "duo",
    "scammer",
    "loverboy",
    "network",
)
#: Classes whose personas are under someone else's control (``controlled`` in the truth).
CONTROLLED_CLASSES: frozenset[str] = frozenset({"loverboy", "network"})


def _default_class_shares() -> dict[str, float]:
    return {
        "independent": 0.55,
        "touring": 0.14,
        "agency": 0.12,
        "duo": 0.04,
        "scammer": 0.10,
        "loverboy": 0.015,
        "network": 0.035,
    }


def _default_cities_per_month() -> dict[str, float]:
    # Targets for the mean number of distinct municipalities a persona advertises in per
    # calendar month in which she has ads (partial months included, so a weekly rotation gives
    # about 2.8 rather than 4); the movement parameters below are chosen to produce them.
    return {
        "independent": 1.06,
        "touring": 2.9,
        "agency": 1.0,
        "duo": 1.0,
        "scammer": 2.9,
        "loverboy": 2.8,
        "network": 2.8,
    }


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """Parameters of one synthetic corpus. Same config and seed -> byte-identical output."""

    seed: int = 1
    ads: int = 5000
    photos: bool = False
    #: First day of the observed period (a Monday) and its length in days.
    start: date = date(2026, 1, 5)
    days: int = 91
    timezone: str = "Europe/Amsterdam"

    #: Share of all ads per worker class (sums to 1). Controlled classes: 5 % of ads.
    class_shares: dict[str, float] = field(default_factory=_default_class_shares)

    #: Distribution of the number of family-A text cues per ad (0, 1, 2, 3), the same for every
    #: class (Giommoni & Ikwu 2021: 81 % at least one; 58.3 / 21.3 / 1.7 % one / two / three+).
    cue_count_probs: tuple[float, float, float, float] = (0.187, 0.583, 0.213, 0.017)

    #: Personas per transnational network (inclusive range, mean about 4; InfoShield "4-6").
    network_size: tuple[int, int] = (2, 7)
    #: Phones a network uses at once, and how long a phone lives before it is replaced (days).
    network_phones: tuple[int, int] = (1, 3)
    network_phone_lifetime_days: tuple[int, int] = (14, 56)
    #: Probability that a network moves to a new municipality at the end of each week.
    network_weekly_move_p: float = 0.8
    #: Share of network phones that are foreign (+40, +359, +34, +57, +58).
    network_foreign_phone_share: float = 0.5
    #: Share of network personas whose photo set partly reuses another persona's photos.
    network_photo_reuse: float = 0.3
    #: Number of distinct text templates per network (inclusive) and token edit rate per ad.
    network_templates: tuple[int, int] = (1, 3)
    template_edit_rate: tuple[float, float] = (0.05, 0.15)
    #: Probability per network persona of being re-advertised under a new identity mid-period.
    network_rebrand_p: float = 0.2

    #: Women per licensed agency (one phone, one template, third person).
    agency_size: tuple[int, int] = (3, 9)
    #: Women controlled by one loverboy, and days between his regional moves.
    loverboy_size: tuple[int, int] = (1, 3)
    loverboy_move_days: tuple[int, int] = (4, 12)
    #: Days a touring independent stays in one municipality.
    touring_stay_days: tuple[int, int] = (5, 12)
    #: Days a scammer keeps one city before switching (scammers post anywhere).
    scammer_stay_days: tuple[int, int] = (3, 9)
    #: Probability that a stationary independent places an ad in a second, nearby municipality.
    independent_second_city_p: float = 0.08

    #: Days between reposts of the same listing, per class (inclusive ranges).
    repost_days: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {
            "independent": (4, 10),
            "touring": (3, 6),
            "agency": (5, 9),
            "duo": (5, 12),
            "scammer": (1, 3),
            "loverboy": (1, 3),
            "network": (1, 2),
        }
    )
    #: Share of postings that are renewals (same text, new id) rather than edited reposts.
    renewal_share: float = 0.4
    #: Days a group is active in the period (inclusive range) and the share already active at the
    #: start of the period.
    active_days: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {
            "independent": (30, 180),
            "touring": (21, 120),
            "agency": (60, 365),
            "duo": (21, 120),
            "scammer": (7, 45),
            "loverboy": (21, 90),
            "network": (28, 120),
        }
    )
    active_at_start: float = 0.6
    #: Probability that an independent changes phone during the period.
    independent_phone_change_p: float = 0.1

    #: Share of minors among controlled personas (metadata only; the stated age is 18 or 19).
    minor_share_controlled: float = 0.01
    #: Share of a minor's ads that carry a school-time reference (E02).
    minor_school_cue_p: float = 0.15

    #: Where the phone number appears: only in the field, only in the text, in both.
    phone_placement: tuple[float, float, float] = (0.35, 0.2, 0.45)
    #: Share of ads whose city is written as a village, a spelling variant or in other case.
    city_variant_share: float = 0.12
    #: Site weights (roodlicht, privehuis, escortgids): the largest site carries half the ads.
    site_weights: tuple[float, float, float] = (0.5, 0.3, 0.2)
    #: Share of words with a typo, in texts that have typos, and the share of texts with typos.
    typo_text_share: float = 0.3
    typo_word_rate: float = 0.03
    #: Share of texts with decorative (non-code) emoji.
    emoji_share: float = 0.35

    #: Photos per persona (inclusive range) and image size (width, height) of the originals.
    photos_per_persona: tuple[int, int] = (2, 5)
    photo_size: tuple[int, int] = (256, 320)
    #: Share of ads (by a hash of the id) that also get a site-shaped HTML page, and a cap.
    page_share: float = 0.02
    page_max: int = 2000

    #: Targets the stats are held to (see docs/synthetic-data.md).
    cities_per_month: dict[str, float] = field(default_factory=_default_cities_per_month)
    #: Mean ads per phone number (IDTraffickers: 87,595 ads on 5,244 vendor phones).
    ads_per_phone_target: float = 17.0

    # -- market variation (docs/synthetic-data.md, "Varying the market") ------------------------
    # Every knob below is off at its default: the corpus is then byte-identical to a corpus of
    # generator version 1. A knob that is on draws from its own random streams.
    #: Target share of ads that are reposts or renewals of an earlier posting (0.05..0.6), or
    #: None for the schedule of ``repost_days`` alone (about 0.8 of ads).
    repost_share: float | None = None
    #: Zipf exponent of the first-name draw over ``signaal.synth.names.AD_NAMES`` (about 1.0:
    #: the most popular name is ten times as common as the tenth), or None for a uniform draw
    #: over the origin group's names.
    name_zipf: float | None = None
    #: Share of ads whose name field shows a variant of the persona's name (nickname, typo, case).
    name_variant_share: float = 0.0
    #: Share of ads without a stated age, without a name, without any phone number.
    no_age_share: float = 0.0
    no_name_share: float = 0.0
    no_phone_share: float = 0.0
    #: Share of ads with a number in the text whose number is preceded by a messenger word
    #: ("WhatsApp nul zes ...", "telegram: ...", "sms me ...").
    messenger_share: float = 0.0
    #: Share of agencies and networks whose personas all show the group's handle, and share of
    #: ads that end with their site's boilerplate (the site's own handle).
    shared_boilerplate_share: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The configuration as JSON-compatible data (dates as ISO strings, tuples as lists)."""
        out = asdict(self)
        out["start"] = self.start.isoformat()
        return out

    def validate(self) -> None:
        """Raise ``ValueError`` on an inconsistent configuration."""
        if self.ads < 0:
            raise ValueError("ads must be >= 0")
        if self.days < 7:
            raise ValueError("days must be >= 7")
        if set(self.class_shares) != set(CLASSES):
            raise ValueError(f"class_shares must name exactly {', '.join(CLASSES)}")
        if any(v < 0 for v in self.class_shares.values()):
            raise ValueError("class shares must be >= 0")
        if abs(sum(self.class_shares.values()) - 1.0) > 1e-6:
            raise ValueError("class shares must sum to 1")
        if abs(sum(self.cue_count_probs) - 1.0) > 1e-6:
            raise ValueError("cue_count_probs must sum to 1")
        if abs(sum(self.phone_placement) - 1.0) > 1e-6:
            raise ValueError("phone_placement must sum to 1")
        if len(self.site_weights) != 3:
            raise ValueError("site_weights needs one weight per site (3)")
        if self.repost_share is not None and not 0.0 <= self.repost_share <= 0.95:
            raise ValueError("repost_share must be within 0..0.95")
        if self.name_zipf is not None and not 0.0 <= self.name_zipf <= 4.0:
            raise ValueError("name_zipf must be within 0..4")
        for name in VARIATION_SHARES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0..1")
        for name in ("network_size", "agency_size", "loverboy_size"):
            lo, hi = getattr(self, name)
            if not 1 <= lo <= hi <= 12:
                raise ValueError(f"{name} must be a range within 1..12")


#: The per-ad shares of the market-variation knobs (each 0 by default).
VARIATION_SHARES: tuple[str, ...] = (
    "name_variant_share",
    "no_age_share",
    "no_name_share",
    "no_phone_share",
    "messenger_share",
    "shared_boilerplate_share",
)
#: Every market-variation knob (SynthConfig fields, ``signaal synth`` options of the same names).
MARKET_KNOBS: tuple[str, ...] = ("repost_share", "name_zipf", *VARIATION_SHARES)

#: Named sets of knob values (``signaal synth --preset``). ``default`` is today's market; ``hard``
#: is a market in which linking is harder: few reposts, popular names, many missing fields, more
#: messenger words and shared boilerplate. Explicit options override a preset's values.
PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    "hard": {
        "repost_share": 0.15,
        "name_zipf": 1.1,
        "name_variant_share": 0.25,
        "no_age_share": 0.3,
        "no_name_share": 0.15,
        "no_phone_share": 0.2,
        "messenger_share": 0.6,
        "shared_boilerplate_share": 0.3,
    },
}


def preset_config(preset: str = "default", **overrides: Any) -> SynthConfig:
    """A configuration from a named preset, with ``overrides`` (explicit options) on top."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    return SynthConfig(**{**PRESETS[preset], **overrides})


def shares_with_controlled(shares: dict[str, float], controlled: float) -> dict[str, float]:
    """Class shares with the controlled classes scaled to ``controlled`` in total and the other
    classes scaled to fill the rest (used to oversample controlled workers in tests)."""
    if not 0.0 <= controlled <= 1.0:
        raise ValueError("controlled share must be within 0..1")
    ctrl = sum(v for c, v in shares.items() if c in CONTROLLED_CLASSES)
    other = sum(v for c, v in shares.items() if c not in CONTROLLED_CLASSES)
    out = {}
    for c, v in shares.items():
        if c in CONTROLLED_CLASSES:
            out[c] = v / ctrl * controlled if ctrl else 0.0
        else:
            out[c] = v / other * (1.0 - controlled) if other else 0.0
    return out
