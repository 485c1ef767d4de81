"""The link stage: components, persona versus network, stolen photos, determinism."""

from __future__ import annotations

import random
from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaal.ads.graph import components, distinct
from signaal.ads.link import LinkConfig, link, normalise_name, persona_id
from signaal.ads.types import LinkKind, PhotoHash

from .linkfixtures import make_ad

TEMPLATE = (
    "Lieve heren, ik ben {n} uit {c}, een vrolijke meid die graag verwent. Bel me voor een "
    "afspraak, ik ontvang discreet in een nette woning en heb alle tijd voor je."
)
OTHER_TEXTS = [
    "Sportieve vrouw met humor, houdt van lange avonden en goede wijn, alleen op afspraak.",
    "Nieuw op deze site: ontspannende massage in een rustige praktijk, parkeren voor de deur.",
    "Ervaren dame ontvangt heren met smaak in een sfeervol appartement vlak bij het station.",
    "Studente die graag nieuwe mensen leert kennen, bereikbaar in het weekend en op woensdag.",
]


def bfs_components(n: int, edges: list[tuple[int, int]]) -> list[int]:
    adjacency: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges:
        adjacency[a].append(b)
        adjacency[b].append(a)
    label = [-1] * n
    for start in range(n):
        if label[start] >= 0:
            continue
        queue = deque([start])
        label[start] = start
        while queue:
            node = queue.popleft()
            for nxt in adjacency[node]:
                if label[nxt] < 0:
                    label[nxt] = start
                    queue.append(nxt)
    return label


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 60).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=3 * n),
        )
    )
)
def test_components_match_breadth_first_search(graph: tuple[int, list[tuple[int, int]]]) -> None:
    n, edges = graph
    arr = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    assert components(n, arr).tolist() == bfs_components(n, edges)


def test_components_do_not_depend_on_edge_order() -> None:
    rng = random.Random(7)
    n = 500
    edges = [(rng.randrange(n), rng.randrange(n)) for _ in range(400)]
    expected = components(n, np.asarray(edges)).tolist()
    for _ in range(5):
        rng.shuffle(edges)
        flipped = [(b, a) if rng.random() < 0.5 else (a, b) for a, b in edges]
        assert components(n, np.asarray(flipped)).tolist() == expected


def test_names_compare_blind_to_case_accents_and_punctuation() -> None:
    assert normalise_name("Zoë!") == normalise_name("zoe") == "zoe"
    assert normalise_name("  ") is None
    assert normalise_name("Femke & Debby") == normalise_name("Femke en Lisa") == "femke"
    assert normalise_name("Anne-Sophie") == "annesophie"
    assert normalise_name(None) is None


def test_same_phone_and_name_is_one_persona_different_names_are_a_network() -> None:
    ads = [
        make_ad("a1", name="Anna", age=24, text=OTHER_TEXTS[0]),
        make_ad("a2", name="anna", age=24, text=OTHER_TEXTS[0], day=5),
        make_ad("b1", name="Bella", age=21, text=OTHER_TEXTS[1], day=2),
        make_ad("c1", name="Chloe", age=30, phone="+31690000002", text=OTHER_TEXTS[2]),
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    p = linkage.persona_of_ad
    assert p["a1"] == p["a2"] != p["b1"]
    assert linkage.network_of_persona[p["a1"]] == linkage.network_of_persona[p["b1"]]
    assert linkage.network_of_persona[p["c1"]] not in {linkage.network_of_persona[p["a1"]]}
    assert p["a1"] == persona_id("a1")
    phone_links = [lk for lk in linkage.links if lk.kind is LinkKind.PHONE]
    assert phone_links
    assert all("phone:" in lk.evidence for lk in phone_links)
    assert all("+3169" not in lk.evidence for lk in linkage.links)  # pseudonyms only


def test_same_name_different_age_on_one_phone_are_two_personas() -> None:
    ads = [
        make_ad("a1", name="Anna", age=19, text=OTHER_TEXTS[0]),
        make_ad("a2", name="Anna", age=27, text=OTHER_TEXTS[1], day=1),
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    assert linkage.persona_of_ad["a1"] != linkage.persona_of_ad["a2"]
    assert len(set(linkage.network_of_persona.values())) == 1


def test_age_one_year_later_is_the_same_persona() -> None:
    ads = [
        make_ad("a1", name="Anna", age=24, text=OTHER_TEXTS[0]),
        make_ad("a2", name="Anna", age=25, text=OTHER_TEXTS[0], day=40),
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    assert linkage.persona_of_ad["a1"] == linkage.persona_of_ad["a2"]
    # Younger after older is not an ageing persona.
    ads = [
        make_ad("a1", name="Anna", age=25, text=OTHER_TEXTS[0]),
        make_ad("a2", name="Anna", age=24, text=OTHER_TEXTS[1], day=40),
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    assert linkage.persona_of_ad["a1"] != linkage.persona_of_ad["a2"]


def test_new_phone_same_name_and_text_stays_one_persona() -> None:
    text = TEMPLATE.format(n="Anna", c="Utrecht")
    ads = [
        make_ad("a1", phone="+31690000001", text=text),
        make_ad("a2", phone="+31690000005", text=text, day=20),
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    assert linkage.persona_of_ad["a1"] == linkage.persona_of_ad["a2"]


def test_template_with_changing_names_links_personas_into_a_network() -> None:
    ads = [
        make_ad("a1", name="Anna", phone="+31690000001", text=TEMPLATE.format(n="Anna", c="Ede")),
        make_ad("b1", name="Bo", phone="+31690000002", text=TEMPLATE.format(n="Bo", c="Zeist")),
        make_ad("c1", name="Cato", phone="+31690000003", text=OTHER_TEXTS[3]),
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    p, n = linkage.persona_of_ad, linkage.network_of_persona
    assert p["a1"] != p["b1"]
    assert n[p["a1"]] == n[p["b1"]] != n[p["c1"]]
    kinds = {ev.kind for ev in linkage.shared[p["a1"]]}
    assert LinkKind.TEXT in kinds


def _photo(path: str, bits: str) -> PhotoHash:
    return PhotoHash(path=path, pdq=bits, quality=100)


def test_stolen_photos_do_not_merge_the_scammer_into_the_victim() -> None:
    victim_photo = "f0" * 32
    near_copy = "f0" * 31 + "f1"  # one bit off: the same picture re-encoded
    ads = [
        make_ad("v1", name="Lotte", age=26, phone="+31690000011", text=OTHER_TEXTS[0]),
        make_ad("v2", name="Lotte", age=26, phone="+31690000011", text=OTHER_TEXTS[0], day=7),
        make_ad("s1", name="Kim", age=22, phone="+31690000066", text=OTHER_TEXTS[2], day=10),
        make_ad("s2", name="Kim", age=22, phone="+31690000066", text=OTHER_TEXTS[2], day=12),
    ]
    photos = {
        "v1": [_photo("v1.jpg", victim_photo)],
        "v2": [_photo("v2.jpg", victim_photo)],
        "s1": [_photo("s1.jpg", near_copy)],
        "s2": [_photo("s2.jpg", near_copy)],
    }
    linkage = link(ads, {}, photos, pseudonym_key="k")
    p, n = linkage.persona_of_ad, linkage.network_of_persona
    assert p["v1"] == p["v2"]
    assert p["s1"] == p["s2"]
    assert p["v1"] != p["s1"]
    assert n[p["v1"]] != n[p["s1"]]
    shared = [ev for ev in linkage.shared[p["s1"]] if ev.kind is LinkKind.PHOTO]
    assert len(shared) == 1
    assert not shared[0].joins_network
    assert shared[0].first_persona == p["v1"]
    assert any(lk.kind is LinkKind.PHOTO and lk.ad_id_a == "s1" for lk in linkage.links) or any(
        lk.kind is LinkKind.PHOTO and {lk.ad_id_a, lk.ad_id_b} & {"s1", "s2"}
        for lk in linkage.links
    )


def test_same_photos_and_same_name_join_one_persona_across_phones() -> None:
    photo = "0f" * 32
    ads = [
        make_ad("a1", phone="+31690000001", text=OTHER_TEXTS[0]),
        make_ad("a2", phone="+31690000002", text=OTHER_TEXTS[1], day=30),
    ]
    photos = {"a1": [_photo("1.jpg", photo)], "a2": [_photo("2.jpg", photo)]}
    linkage = link(ads, {}, photos, pseudonym_key="k")
    assert linkage.persona_of_ad["a1"] == linkage.persona_of_ad["a2"]


def test_low_quality_photos_link_nothing() -> None:
    flat = "00" * 32
    ads = [
        make_ad("a1", phone="+31690000001", text=OTHER_TEXTS[0]),
        make_ad("a2", phone="+31690000002", text=OTHER_TEXTS[1], day=30),
    ]
    photos = {
        "a1": [PhotoHash("1.jpg", flat, quality=10)],
        "a2": [PhotoHash("2.jpg", flat, quality=10)],
    }
    linkage = link(ads, {}, photos, pseudonym_key="k")
    assert linkage.persona_of_ad["a1"] != linkage.persona_of_ad["a2"]


def test_unnamed_ads_join_the_only_named_persona_of_their_phone() -> None:
    ads = [
        make_ad("a1", name="Anna", text=OTHER_TEXTS[0]),
        make_ad("a2", name=None, text=OTHER_TEXTS[1], day=3),
        make_ad("b1", name="Bo", phone="+31690000002", text=OTHER_TEXTS[2]),
        make_ad("c1", name="Cato", phone="+31690000002", text=OTHER_TEXTS[3]),
        make_ad("x1", name=None, phone="+31690000002", text=OTHER_TEXTS[0], day=4),
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    p = linkage.persona_of_ad
    assert p["a2"] == p["a1"]
    assert p["x1"] not in {p["b1"], p["c1"]}  # ambiguous: two personas on that phone


def test_agency_personas_are_one_network_of_distinct_personas() -> None:
    agency_text = (
        "Onze dames ontvangen u in een luxe en discrete privehuis. {n} is {a} jaar en verwent u "
        "graag. Bel voor beschikbaarheid van vandaag, wij zijn geopend van tien tot twee."
    )
    names = ["Anna", "Bo", "Cato", "Dewi", "Eva"]
    ads = []
    for k, name in enumerate(names):
        for rep in range(3):
            ads.append(
                make_ad(
                    f"g{k}{rep}",
                    name=name,
                    age=20 + k,
                    phone="+31690000100",
                    text=agency_text.format(n=name, a=20 + k),
                    day=rep * 7 + k,
                )
            )
    linkage = link(ads, {}, {}, pseudonym_key="k")
    personas = set(linkage.persona_of_ad.values())
    assert len(personas) == len(names)
    assert len({linkage.network_of_persona[p] for p in personas}) == 1


def test_ids_and_links_are_deterministic_whatever_the_input_order() -> None:
    rng = random.Random(3)
    ads = []
    for k in range(40):
        name = ["Anna", "Bo", "Cato", "Dewi"][k % 4]
        phone = f"+3169000{k % 7:04d}"
        text = TEMPLATE.format(n=name, c="Ede") if k % 3 == 0 else OTHER_TEXTS[k % 4]
        ads.append(make_ad(f"ad{k:03d}", name=name, age=20 + k % 5, phone=phone, text=text, day=k))
    first = link(ads, {}, {}, pseudonym_key="k")
    for _ in range(3):
        rng.shuffle(ads)
        again = link(ads, {}, {}, pseudonym_key="k")
        assert again == first


def test_duplicate_ad_ids_are_refused() -> None:
    ads = [make_ad("a1"), make_ad("a1")]
    with pytest.raises(ValueError, match="unique"):
        link(ads, {}, {}, pseudonym_key="k")


def test_contact_used_by_very_many_personas_joins_nothing() -> None:
    ads = [
        make_ad(f"a{k}", name=f"Name{chr(97 + k)}", age=20 + k, phone="+31690000999")
        for k in range(6)
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k", config=LinkConfig(max_personas_per_contact=3))
    assert len(set(linkage.network_of_persona.values())) == 6


@pytest.mark.parametrize("size", [0, 1, 2, 1000])
def test_distinct_is_np_unique(size: int) -> None:
    values = np.random.default_rng(size).integers(-50, 50, size, dtype=np.int64)
    got = distinct(values)
    assert got.dtype == values.dtype
    assert np.array_equal(got, np.unique(values))
    unsigned = values.astype(np.uint32)
    assert np.array_equal(distinct(unsigned), np.unique(unsigned))


# TEMPLATE with two words changed: a near-duplicate of it, but no exact copy.
REWRITE = (
    "Lieve heren, ik ben {n} uit {c}, een vrolijke dame die graag verwent. Bel me voor een "
    "afspraak, ik ontvang discreet in een nette woning en heb alle tijd voor jou."
)
# TEMPLATE with two other words changed.
OTHER_REWRITE = (
    "Lieve heren, ik ben {n} uit {c}, een vrolijke meid die graag verwent. Bel me voor een "
    "afspraak, ik ontvang discreet in een mooie woning en heb alle tijd voor u."
)


@pytest.mark.parametrize("strictness", [0.5, 1.0])
def test_a_loose_text_match_is_persona_evidence_but_a_template_needs_the_network_threshold(
    strictness: float,
) -> None:
    config = LinkConfig(network_text_similarity=strictness)
    ads = [
        # One woman on two phones who rewrote her ad: one persona whatever the threshold.
        make_ad("a1", name="Anna", phone="+31690000001", text=TEMPLATE.format(n="Anna", c="Ede")),
        make_ad("a2", name="Anna", phone="+31690000002", text=REWRITE.format(n="Anna", c="Ede")),
        # Another woman with another rewrite: a network only when the pair is close enough.
        make_ad(
            "b1", name="Bo", phone="+31690000003", text=OTHER_REWRITE.format(n="Bo", c="Zeist")
        ),
        make_ad("c1", name="Cato", phone="+31690000004", text=OTHER_TEXTS[3]),
    ]
    linkage = link(ads, {}, {}, pseudonym_key="k", config=config)
    p, n = linkage.persona_of_ad, linkage.network_of_persona
    assert p["a1"] == p["a2"] != p["b1"]
    assert (n[p["a1"]] == n[p["b1"]]) is (strictness < 1.0)
    assert n[p["c1"]] not in {n[p["a1"]], n[p["b1"]]}


def test_the_network_text_similarity_is_checked() -> None:
    with pytest.raises(ValueError, match="network_text_similarity"):
        LinkConfig(network_text_similarity=0.0)
