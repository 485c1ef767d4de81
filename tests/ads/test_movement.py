"""Movement on constructed timelines: arrivals, D01 rotation, D02 co-movement, D03, D04."""

from __future__ import annotations

from signaal.ads.link import link
from signaal.ads.movement import movement
from signaal.ads.types import NormalisedAd

from .linkfixtures import make_ad

TEXTS = [
    "Sportieve vrouw met humor, houdt van lange avonden en goede wijn, alleen op afspraak.",
    "Nieuw op deze site: ontspannende massage in een rustige praktijk, parkeren voor de deur.",
    "Ervaren dame ontvangt heren met smaak in een sfeervol appartement vlak bij het station.",
    "Studente die graag nieuwe mensen leert kennen, bereikbaar in het weekend en op woensdag.",
]


def _indicators(ads: list[NormalisedAd]) -> tuple[dict[str, set[str]], dict[str, str]]:
    linkage = link(ads, {}, {}, pseudonym_key="k")
    result = movement(ads, linkage)
    ids = {k: {ev.indicator_id for ev in v} for k, v in result.indicators.items()}
    return ids, linkage.persona_of_ad


def test_three_municipalities_in_thirty_days_is_rotation() -> None:
    ads = [
        make_ad("a1", city="Utrecht", day=0, text=TEXTS[0]),
        make_ad("a2", city="Zeist", day=8, text=TEXTS[0]),
        make_ad("a3", city="Ede", day=20, text=TEXTS[0]),
    ]
    ids, persona = _indicators(ads)
    assert "D01" in ids[persona["a1"]]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    result = movement(ads, linkage)
    assert [m.to_municipality for m in result.movements] == ["Utrecht", "Zeist", "Ede"]
    assert result.movements[1].from_municipality == "Utrecht"
    assert result.municipalities_of_persona[persona["a1"]] == ("Utrecht", "Zeist", "Ede")


def test_three_municipalities_spread_over_two_months_is_not_rotation() -> None:
    ads = [
        make_ad("a1", city="Utrecht", day=0, text=TEXTS[0]),
        make_ad("a2", city="Zeist", day=25, text=TEXTS[0]),
        make_ad("a3", city="Ede", day=60, text=TEXTS[0]),
    ]
    ids, persona = _indicators(ads)
    assert "D01" not in ids.get(persona["a1"], set())


def test_returning_after_a_long_gap_is_a_new_arrival_and_reposts_are_not() -> None:
    ads = [make_ad(f"a{d}", city="Utrecht", day=d, text=TEXTS[0]) for d in (0, 2, 4, 30)]
    linkage = link(ads, {}, {}, pseudonym_key="k")
    result = movement(ads, linkage)
    assert [m.at.day for m in result.movements] == [5, 4]  # 5 January and 4 February


def test_linked_personas_that_move_together_are_co_moving() -> None:
    ads = []
    for k, city in enumerate(["Utrecht", "Zwolle", "Venlo"]):
        ads.append(make_ad(f"a{k}", name="Anna", city=city, day=7 * k, text=TEXTS[0]))
        ads.append(make_ad(f"b{k}", name="Bo", age=21, city=city, day=7 * k + 1, text=TEXTS[1]))
    ids, persona = _indicators(ads)
    assert "D02" in ids[persona["a0"]]
    assert "D02" in ids[persona["b0"]]


def test_co_movement_pairs_every_arrival_inside_the_window_and_none_outside_it() -> None:
    # Many arrivals in the same places: Anna and Bo arrive within three days of each other with
    # Cato arriving in between (so a pair is found past arrivals of others), and Dewi arrives
    # just over three days after Cato every time (so no pair with her).
    ads = []
    for k, city in enumerate(["Utrecht", "Zwolle", "Venlo"]):
        day = 20 * k
        ads.append(make_ad(f"a{k}", name="Anna", city=city, day=day, text=TEXTS[0]))
        ads.append(make_ad(f"c{k}", name="Cato", age=30, city=city, day=day + 1, text=TEXTS[2]))
        ads.append(make_ad(f"b{k}", name="Bo", age=21, city=city, day=day + 3, text=TEXTS[1]))
        ads.append(make_ad(f"d{k}", name="Dewi", age=40, city=city, day=day + 7.5, text=TEXTS[3]))
    linkage = link(ads, {}, {}, pseudonym_key="k")
    persona = linkage.persona_of_ad
    assert len({linkage.network_of_persona[persona[f"{p}0"]] for p in "abcd"}) == 1
    result = movement(ads, linkage)
    with_d02 = {
        subject
        for subject, events in result.indicators.items()
        if any(ev.indicator_id == "D02" for ev in events)
    }
    assert {persona["a0"], persona["b0"], persona["c0"]} <= with_d02
    assert persona["d0"] not in with_d02
    (event,) = [ev for ev in result.indicators[persona["a0"]] if ev.indicator_id == "D02"]
    assert dict(event.figures)["personas"] == 3
    assert event.municipalities == ("Utrecht", "Venlo", "Zwolle")


def test_personas_in_one_city_once_are_not_co_moving() -> None:
    ads = [
        make_ad("a0", name="Anna", city="Utrecht", day=0, text=TEXTS[0]),
        make_ad("b0", name="Bo", age=21, city="Utrecht", day=1, text=TEXTS[1]),
        make_ad("a1", name="Anna", city="Zwolle", day=7, text=TEXTS[0]),
        make_ad("b1", name="Bo", age=21, city="Venlo", day=8, text=TEXTS[1]),
    ]
    ids, persona = _indicators(ads)
    assert "D02" not in ids.get(persona["a0"], set())


def test_new_persona_on_the_same_phone_every_ten_days_is_turnover() -> None:
    names = ["Anna", "Bo", "Cato", "Dewi"]
    ads = [
        make_ad(f"p{k}", name=name, age=20 + k, day=10 * k, text=TEXTS[k])
        for k, name in enumerate(names)
    ]
    ids, persona = _indicators(ads)
    assert all("D04" in ids[persona[f"p{k}"]] for k in range(4))


def test_personas_started_on_one_day_are_not_turnover() -> None:
    names = ["Anna", "Bo", "Cato", "Dewi"]
    ads = [
        make_ad(f"p{k}", name=name, age=20 + k, day=0.1 * k, text=TEXTS[k])
        for k, name in enumerate(names)
    ]
    ids, persona = _indicators(ads)
    assert all("D04" not in ids.get(persona[f"p{k}"], set()) for k in range(4))


def test_daily_reposting_is_recorded() -> None:
    daily = [make_ad(f"d{k:02d}", day=k, text=TEXTS[0]) for k in range(10)]
    weekly = [
        make_ad(f"w{k:02d}", name="Bo", phone="+31690000002", day=7 * k, text=TEXTS[1])
        for k in range(4)
    ]
    ids, persona = _indicators(daily + weekly)
    assert "D03" in ids[persona["d00"]]
    assert "D03" not in ids.get(persona["w00"], set())
