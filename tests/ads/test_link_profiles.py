"""Profiles as same-persona evidence, weighed by how common they are in the corpus analysed."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from signaal.ads.link import link
from signaal.ads.normalise import normalise
from signaal.ads.profiles import similar_names
from signaal.ads.read import read_records
from signaal.ads.records import AdRecord
from signaal.ads.types import NormalisedAd
from signaal.synth import generate
from signaal.synth.config import preset_config

from .linkfixtures import make_ad

CLUB = "info@club.example"
OTHER_NAMES = ["Bella", "Lisa", "Nina", "Kim", "Eva", "Linda", "Mia", "Ruby"]


def _market(pair_name: str, pair_age: int) -> list[NormalisedAd]:
    """Twenty women called Chantal, aged 24, each on her own phone; twenty others; and a club
    e-mail address seen with nine women, two of whom advertise as ``pair_name``, ``pair_age``
    (ads c1 and c2, each on her own phone)."""
    ads = [
        make_ad(f"x{k:02d}", name="Chantal", age=24, phone=f"+316910000{k:02d}") for k in range(20)
    ]
    ads += [
        make_ad(f"y{k:02d}", name=f"Solo{chr(97 + k)}", age=30 + k % 9, phone=f"+316920000{k:02d}")
        for k in range(20)
    ]
    ads += [
        make_ad("c1", name=pair_name, age=pair_age, phone="+31693000001", emails=(CLUB,)),
        make_ad("c2", name=pair_name, age=pair_age, phone="+31693000002", emails=(CLUB,), day=5),
    ]
    ads += [
        make_ad(f"o{k}", name=name, age=40 + k, phone=f"+3169400000{k}", emails=(CLUB,))
        for k, name in enumerate(OTHER_NAMES[:7])
    ]
    return ads


def test_two_women_of_a_common_name_and_age_are_not_joined_by_them_alone() -> None:
    # Chantal, 24 is common in this corpus: among the nine women of the club address another
    # Chantal of 24 is to be expected, so the shared address and the profile do not join them.
    linkage = link(_market("Chantal", 24), {}, {}, pseudonym_key="k")
    p = linkage.persona_of_ad
    assert p["c1"] != p["c2"]
    assert not any(
        {lk.ad_id_a, lk.ad_id_b} == {"c1", "c2"} and lk.evidence.startswith("same persona")
        for lk in linkage.links
    )
    # They are still one network: the address is shared by the club's personas.
    assert linkage.network_of_persona[p["c1"]] == linkage.network_of_persona[p["c2"]]


def test_a_rare_name_and_age_with_the_same_weak_evidence_joins() -> None:
    linkage = link(_market("Xandra", 37), {}, {}, pseudonym_key="k")
    p = linkage.persona_of_ad
    assert p["c1"] == p["c2"]
    (joined,) = [lk for lk in linkage.links if {lk.ad_id_a, lk.ad_id_b} == {"c1", "c2"}]
    assert joined.evidence.startswith("same persona: name xandra, age 37, email:")


def test_a_common_name_on_a_phone_of_one_woman_still_joins() -> None:
    # One woman on her phone: nobody else seen with it can collide, however common her name.
    ads = [*_market("Chantal", 24), make_ad("z1", name="Chantal", age=24, day=9)]
    ads.append(make_ad("z2", name="Chantal", age=None, day=12))
    p = link(ads, {}, {}, pseudonym_key="k").persona_of_ad
    assert p["z1"] == p["z2"]


def test_written_variants_of_a_name_on_one_phone_are_one_persona() -> None:
    ads = [
        make_ad("a1", name="Sophie", age=24),
        make_ad("a2", name="Soph", age=24, day=2),
        make_ad("a3", name="SOPHIE xx", age=None, day=4),
        make_ad("a4", name="Sohpie", age=24, day=6),
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    assert len(set(linkage.persona_of_ad.values())) == 1
    assert any("name soph/sophie" in lk.evidence for lk in linkage.links)


def test_a_swap_right_after_the_first_letter_is_a_variant_too() -> None:
    # "Lsia" shares neither the first two nor the last three letters of "Lisa".
    ads = [
        make_ad("a1", name="Lisa", age=24),
        make_ad("a2", name="Lsia", age=24, day=2),
        make_ad("b1", name="Nina", age=31, day=3),
        make_ad("b2", name="Nnia", age=None, day=4),
    ]
    p = link(ads, {}, {}, pseudonym_key="k").persona_of_ad
    assert p["a1"] == p["a2"]
    assert p["b1"] == p["b2"]
    assert p["a1"] != p["b1"]


def test_different_names_one_letter_apart_on_an_agency_phone_stay_apart() -> None:
    ads = [
        make_ad("a1", name="Sasha", age=24),
        make_ad("a2", name="Tasha", age=24, day=1),
        make_ad("a3", name="Sofia", age=24, day=2),
        make_ad("a4", name="Sofie", age=24, day=3),
    ]
    p = link(ads, {}, {}, pseudonym_key="k").persona_of_ad
    assert len(set(p.values())) == 4


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("chantal", "chantalxx", True),
        ("samantha", "sam", True),
        ("valentina", "tina", True),
        ("natasha", "natascha", True),
        ("sophie", "sohpie", True),
        ("sasha", "tasha", False),
        ("mia", "maria", False),
        ("anna", "nina", False),
    ],
)
def test_similar_names(a: str, b: str, same: bool) -> None:
    assert similar_names(a, b) is same
    assert similar_names(b, a) is same


def test_links_do_not_depend_on_the_order_of_the_ads(tmp_path: Path) -> None:
    # A hard market (popular names, name variants, missing ages and names) from the generator.
    generate(preset_config("hard", seed=3, ads=1500), tmp_path, workers=1)
    records = [r for r in read_records(tmp_path / "ads.jsonl") if isinstance(r, AdRecord)]
    ads = [normalise(r) for r in records]
    first = link(ads, {}, {}, pseudonym_key="k")
    shuffled = list(ads)
    random.Random(5).shuffle(shuffled)
    again = link(shuffled, {}, {}, pseudonym_key="k")
    assert again.persona_of_ad == first.persona_of_ad
    assert again.network_of_persona == first.network_of_persona
    assert again.links == first.links
    assert len(set(first.persona_of_ad.values())) < len(ads)  # something was linked


def test_an_ad_without_a_name_field_introduces_itself_by_a_known_name() -> None:
    # Two women share the phone: an unnamed ad would stay apart, but its text names Anna.
    ads = [
        make_ad("a1", name="Anna", age=24),
        make_ad("b1", name="Bella", age=31, day=1),
        make_ad("a2", name=None, age=24, text="Hoi! Ik ben Anna, 24 jaar.", day=2),
        make_ad("u1", name=None, age=24, text="I am Elegant and discreet.", day=3),
    ]
    p = link(ads, {}, {}, pseudonym_key="k").persona_of_ad
    assert p["a2"] == p["a1"] != p["b1"]
    assert p["u1"] not in {p["a1"], p["b1"]}  # "Elegant" is no name of this corpus


def test_an_ad_without_a_name_field_names_itself_first() -> None:
    # "Anna hier" and "Bella here" introduce the writer as well as "Ik ben Anna" does.
    ads = [
        make_ad("a1", name="Anna", age=24),
        make_ad("b1", name="Bella", age=31, day=1),
        make_ad("a2", name=None, age=24, text="Hoi hoi, Anna hier, 24 jaar jong.", day=2),
        make_ad("b2", name=None, age=31, text="Hello! Bella here, 31 years young.", day=3),
        make_ad("u1", name=None, age=24, text="Nieuw hier in de stad.", day=4),
    ]
    p = link(ads, {}, {}, pseudonym_key="k").persona_of_ad
    assert p["a2"] == p["a1"] != p["b1"] == p["b2"]
    assert p["u1"] not in {p["a1"], p["b1"]}  # "Nieuw" is no name of this corpus
