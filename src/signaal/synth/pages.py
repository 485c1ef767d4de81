"""Site-shaped HTML pages for a sample of ads, to test the site adapters.

Each invented site has its own layout, its own way of showing dates, prices and the phone, and its
own id scheme. ``signaal.ads.sources.sites`` reads them back with selectors kept as data
(``sites.json``); the round trip is tested for every generated page.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

_CATEGORY_LABELS = {
    "prive-ontvangst": "Privé-ontvangst",
    "escort": "Escort",
    "thuisontvangst": "Thuisontvangst",
    "massage": "Erotische massage",
}


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _price(value: float | None) -> str:
    return "op aanvraag" if value is None else f"€ {value:.0f}"


def _roodlicht(r: dict[str, Any]) -> str:
    num = r["id"].split(":", 1)[1]
    posted = datetime.fromisoformat(r["posted_at"])
    rows = [
        ("Naam", "naam", r["name"]),
        ("Leeftijd", "leeftijd", f"{r['age']} jaar" if r["age"] is not None else None),
        ("Plaats", "plaats", r["city"]),
        ("Afkomst", "afkomst", r["origin"]),
        ("Type", "type", _CATEGORY_LABELS.get(r["category"] or "", r["category"])),
    ]
    kenmerken = "".join(
        f'<tr><th>{label}</th><td class="{cls}">{_e(v)}</td></tr>'
        for label, cls, v in rows
        if v is not None
    )
    prices = "".join(
        f'<li data-duur="{_e(k)}">{_e(k.replace("min", " min"))}: '
        f'<span class="prijs">{_price(v)}</span></li>'
        for k, v in r["prices"].items()
    )
    phones = "".join(
        f'<a class="toon-nummer" href="#" data-nummer="{_e(p)}">Toon nummer</a>'
        for p in r["phones"]
    )
    handles = "".join(f'<span class="handle">{_e(h)}</span>' for h in r["handles"])
    photos = "".join(f'<img class="foto" src="{_e(p)}" alt="">' for p in r["images"])
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>{_e(r['title'])} | Roodlicht</title>"
        f'<link rel="canonical" href="{_e(r["url"])}">'
        '<meta name="generator" content="roodlicht-cms 4.2"></head><body>'
        '<header class="site-header"><a href="/">Roodlicht</a></header>'
        f'<main><div id="advertentie" data-ad-id="{_e(num)}">'
        f'<h1 class="ad-title">{_e(r["title"])}</h1>'
        f'<p class="geplaatst">Geplaatst op <time class="listed" datetime="{_e(r["posted_at"])}">'
        f"{posted:%d-%m-%Y}</time></p>"
        f'<table class="kenmerken">{kenmerken}</table>'
        f'<div class="omschrijving">{_e(r["text"])}</div>'
        f'<ul class="tarieven">{prices}</ul>'
        f'<div class="contact">{phones}{handles}</div>'
        f'<div class="fotos">{photos}</div>'
        "</div></main></body></html>\n"
    )


def _privehuis(r: dict[str, Any]) -> str:
    posted = datetime.fromisoformat(r["posted_at"])
    props = [("Plaats", r["city"]), ("Leeftijd", r["age"])]
    dl = "".join(
        f'<dt>{k}</dt><dd data-veld="{k.lower()}">{_e(v)}</dd>' for k, v in props if v is not None
    )
    prices = "".join(
        f'<tr data-tarief="{_e(k)}"><td>{_e(k)}</td><td class="bedrag">{_price(v)}</td></tr>'
        for k, v in r["prices"].items()
    )
    phones = "".join(
        f'<button class="show-phone" data-phone="{_e(p)}">Toon nummer</button>' for p in r["phones"]
    )
    emails = "".join(f'<a class="mail" href="mailto:{_e(m)}">{_e(m)}</a>' for m in r["emails"])
    photos = "".join(
        f'<figure><img data-src="{_e(p)}" src="/img/lazy.gif"></figure>' for p in r["images"]
    )
    name = f'<h2 class="naam">{_e(r["name"])}</h2>' if r["name"] is not None else ""
    return (
        '<!doctype html><html lang="nl"><head><meta charset="utf-8">'
        f"<title>{_e(r['title'])} - Privehuis.example</title>"
        f'<meta property="og:url" content="{_e(r["url"])}">'
        '<meta property="og:site_name" content="Privehuis"></head><body>'
        f'<section class="advertentie" data-categorie="{_e(r["category"] or "")}">'
        f"<h1>{_e(r['title'])}</h1>{name}"
        '<p class="meta">Aangemaakt: '
        f'<span class="aangemaakt">{posted:%d-%m-%Y %H:%M:%S}</span></p>'
        f'<dl class="eigenschappen">{dl}</dl>'
        f'<article class="beschrijving">{_e(r["text"])}</article>'
        f'<table class="tarieven">{prices}</table>'
        f'<div class="contact">{phones}{emails}</div>'
        f'<div class="galerij">{photos}</div>'
        "</section></body></html>\n"
    )


def _escortgids(r: dict[str, Any]) -> str:
    code = r["id"].split(":", 1)[1]
    posted = datetime.fromisoformat(r["posted_at"])
    info = [
        ("Naam", "name", r["name"]),
        ("Leeftijd", "age", r["age"]),
        ("Stad", "city", r["city"]),
        ("Etniciteit", "ethnicity", r["origin"]),
        ("Soort", "kind", r["category"]),
    ]
    items = "".join(
        f'<li class="info-{cls}"><b>{label}:</b> <span>{_e(v)}</span></li>'
        for label, cls, v in info
        if v is not None
    )
    prices = "".join(
        f'<div class="rate"><span class="d">{_e(k)}</span> <span class="p">{_price(v)}</span></div>'
        for k, v in r["prices"].items()
    )
    phones = "".join(f'<span class="tel">{_e(p)}</span>' for p in r["phones"])
    emails = "".join(f'<span class="email">{_e(m)}</span>' for m in r["emails"])
    handles = "".join(f'<span class="social">{_e(h)}</span>' for h in r["handles"])
    photos = "".join(f'<a class="ph" href="{_e(p)}"><img src="{_e(p)}"></a>' for p in r["images"])
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f"<title>Escortgids: {_e(r['title'])}</title></head>"
        f'<body class="escortgids"><article class="profiel" data-profiel="{_e(code)}" '
        f'data-url="{_e(r["url"])}">'
        f'<h1 class="kop">{_e(r["title"])}</h1>'
        f'<div class="datum">{posted:%Y-%m-%d %H:%M:%S}</div>'
        f'<ul class="info">{items}</ul>'
        f'<div class="over-mij">{_e(r["text"])}</div>'
        f'<div class="rates">{prices}</div>'
        f'<div class="contact">{phones}{emails}{handles}</div>'
        f'<div class="photos">{photos}</div>'
        "</article></body></html>\n"
    )


RENDERERS = {"roodlicht": _roodlicht, "privehuis": _privehuis, "escortgids": _escortgids}


def render_page(site_key: str, record: dict[str, Any]) -> str:
    """The HTML page a site would show for the record."""
    return RENDERERS[site_key](record)


def page_path(site_key: str, record: dict[str, Any]) -> str:
    """Where a record's page is written, relative to the corpus directory."""
    return f"pages/{site_key}/{record['id'].split(':', 1)[1]}.html"


def write_page(out_dir: Path, site_key: str, record: dict[str, Any]) -> Path:
    path = out_dir / page_path(site_key, record)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(site_key, record), encoding="utf-8")
    return path
