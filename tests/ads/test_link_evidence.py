"""Link evidence: a missing age is unknown."""

from __future__ import annotations

from signaal.ads.link import link

from .linkfixtures import make_ad

TEXTS = [
    "Sportieve vrouw met humor, houdt van lange avonden en goede wijn, alleen op afspraak.",
    "Nieuw op deze site: ontspannende massage in een rustige praktijk, parkeren voor de deur.",
    "Ervaren dame ontvangt heren met smaak in een sfeervol appartement vlak bij het station.",
    "Studente die graag nieuwe mensen leert kennen, bereikbaar in het weekend en op woensdag.",
]


def test_named_ad_without_age_joins_the_persona_of_its_name_and_phone() -> None:
    ads = [
        make_ad("a1", name="Chantal", age=24, text=TEXTS[0]),
        make_ad("a2", name="Chantal", age=None, text=TEXTS[1], day=3),
        make_ad("a3", name="chantal", age=24, text=TEXTS[2], day=6),
    ]
    p = link(ads, {}, {}, pseudonym_key="k").persona_of_ad
    assert p["a1"] == p["a2"] == p["a3"]


def test_ad_without_age_joins_a_persona_whose_age_went_up_a_year() -> None:
    ads = [
        make_ad("a1", name="Chantal", age=24, text=TEXTS[0]),
        make_ad("a2", name="Chantal", age=25, text=TEXTS[1], day=60),
        make_ad("a3", name="Chantal", age=None, text=TEXTS[2], day=70),
    ]
    p = link(ads, {}, {}, pseudonym_key="k").persona_of_ad
    assert p["a1"] == p["a2"] == p["a3"]


def test_ad_without_age_does_not_merge_two_personas_of_one_name() -> None:
    ads = [
        make_ad("a1", name="Chantal", age=24, text=TEXTS[0]),
        make_ad("a2", name="Chantal", age=31, text=TEXTS[1], day=1),
        make_ad("a3", name="Chantal", age=None, text=TEXTS[2], day=2),
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    p = linkage.persona_of_ad
    assert p["a1"] != p["a2"]
    assert p["a3"] not in {p["a1"], p["a2"]}
    assert len(set(linkage.network_of_persona.values())) == 1  # one phone: one network


def test_ads_without_age_of_another_name_stay_apart() -> None:
    ads = [
        make_ad("a1", name="Chantal", age=24, text=TEXTS[0]),
        make_ad("a2", name="Bella", age=None, text=TEXTS[1], day=1),
    ]
    p = link(ads, {}, {}, pseudonym_key="k").persona_of_ad
    assert p["a1"] != p["a2"]
