"""Link evidence: a missing age is unknown, a too-common identifier is no evidence."""

from __future__ import annotations

from signaal.ads.link import LinkConfig, link

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


def _crowded_phone_ads() -> list:
    phone = "+31690000999"
    crowd = [
        make_ad(f"c{k}", name=f"Name{chr(97 + k)}", age=20 + k, phone=phone, text="", day=k)
        for k in range(6)
    ]
    same_profile = [
        make_ad("x1", name="Chantal", age=24, phone=phone, text=TEXTS[0], day=10),
        make_ad("x2", name="Chantal", age=24, phone=phone, text=TEXTS[1], day=11),
    ]
    return crowd + same_profile


def test_too_common_contact_point_is_no_same_persona_evidence() -> None:
    config = LinkConfig(max_personas_per_contact=3)
    linkage = link(_crowded_phone_ads(), {}, {}, pseudonym_key="k", config=config)
    p = linkage.persona_of_ad
    # Name and age alike do not make one persona when the only shared identifier is too common.
    assert p["x1"] != p["x2"]
    assert not [lk for lk in linkage.links if lk.evidence.startswith("same persona")]
    assert len(set(linkage.network_of_persona.values())) == len(set(p.values()))
    reasons = [r for rs in linkage.network_reasons.values() for r in rs]
    assert any("recorded, not linked" in r for r in reasons)


def test_contact_point_under_the_limit_still_joins_the_persona() -> None:
    config = LinkConfig(max_personas_per_contact=60)
    linkage = link(_crowded_phone_ads(), {}, {}, pseudonym_key="k", config=config)
    p = linkage.persona_of_ad
    assert p["x1"] == p["x2"]
    assert any("name chantal, age 24" in lk.evidence for lk in linkage.links)
