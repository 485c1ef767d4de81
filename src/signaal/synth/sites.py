"""The three invented ad sites: their id schemes, addresses, phone display and price keys.

They are modelled on the field structure of the large Dutch sites (INDICATORS.md section 2) but
have invented names on the reserved ``.example`` domain. The HTML layouts are in ``pages.py``;
the adapters that read them back are in ``signaal.ads.sources.sites``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=8192)
def slugify(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", norm.lower()).strip("-")
    return slug[:60] or "advertentie"


@dataclass(frozen=True, slots=True)
class SiteSpec:
    key: str  # short name, used in ids and paths
    domain: str  # the record's ``site``
    price_keys: tuple[str, ...]
    phone_styles: tuple[int, ...]  # indices into phones.display_forms that the site shows
    shows_origin: bool
    shows_email: bool
    shows_handles: bool
    categories: dict[str, str]  # record category -> the site's URL section


SITES: tuple[SiteSpec, ...] = (
    # Kinky-like: numeric ids, /advertenties/<id>-<slug>, prices per 15/30/45/60 min, Afkomst.
    SiteSpec(
        key="roodlicht",
        domain="roodlicht.example",
        price_keys=("15min", "30min", "45min", "60min"),
        phone_styles=(0, 2, 5),
        shows_origin=True,
        shows_email=False,
        shows_handles=True,
        categories={
            "prive-ontvangst": "prive-ontvangst",
            "escort": "escort",
            "thuisontvangst": "thuisontvangst",
            "massage": "massage",
        },
    ),
    # Sexjobs-like: base-36 codes, sections per category, "Aangemaakt", no origin field.
    SiteSpec(
        key="privehuis",
        domain="privehuis.example",
        price_keys=("30min", "60min"),
        phone_styles=(4, 3),
        shows_origin=False,
        shows_email=True,
        shows_handles=False,
        categories={
            "prive-ontvangst": "dames-van-plezier/algemeen",
            "escort": "dames-van-plezier/escort",
            "thuisontvangst": "dames-van-plezier/thuisontvangst",
            "massage": "erotische-massage",
        },
    ),
    # Redlights-like: date-stamped hex ids, profile pages, Etniciteit and Contacturen.
    SiteSpec(
        key="escortgids",
        domain="escortgids.example",
        price_keys=("60min", "120min"),
        phone_styles=(1, 5, 4),
        shows_origin=True,
        shows_email=True,
        shows_handles=True,
        categories={
            "prive-ontvangst": "prive",
            "escort": "escort",
            "thuisontvangst": "thuis",
            "massage": "massage",
        },
    ),
)

# Affine permutations (multiplier coprime to the modulus): distinct serials -> distinct ids.
_RL_MOD, _RL_A, _RL_B = 10**10, 6_700_417, 1_234_567_891
_PH_MOD, _PH_A, _PH_B = 36**7, 1_000_003 * 5 * 7, 9_876_543
_EG_MOD, _EG_A, _EG_B = 16**9, 2_654_435_761, 40_503


def ad_id_and_url(
    site: SiteSpec, serial: int, *, title: str, name: str, category: str, day: str
) -> tuple[str, str]:
    """The site's id and address of the posting with a corpus-unique ``serial``.

    ``day`` is the posting date as YYYYMMDD (escortgids stamps it into its ids).
    """
    if site.key == "roodlicht":
        num = (_RL_A * serial + _RL_B) % _RL_MOD
        return (
            f"roodlicht:{num}",
            f"https://roodlicht.example/advertenties/{num}-{slugify(title)}",
        )
    if site.key == "privehuis":
        v = (_PH_A * serial + _PH_B) % _PH_MOD
        code = ""
        for _ in range(7):
            v, r = divmod(v, 36)
            code = _B36[r] + code
        section = site.categories[category]
        return f"privehuis:{code}", f"https://privehuis.example/{section}/{code}"
    v = (_EG_A * serial + _EG_B) % _EG_MOD
    hexid = f"{v:09x}"
    return (
        f"escortgids:{day}-{hexid}",
        f"https://escortgids.example/profiel/{slugify(name)}/{day}-{hexid}",
    )
