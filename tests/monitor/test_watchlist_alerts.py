"""The pure derivation of watchlist alerts: old state and a new run in, alerts and new state out."""

from __future__ import annotations

from signaal.monitor.alerts import (
    Alert,
    AlertKind,
    NetworkView,
    PersonaView,
    RunView,
    Seen,
    WatchKind,
    WatchState,
    baseline,
    derive_alerts,
    region_of,
)

PHONE = "phone:0123456789abcdef"
OTHER_PHONE = "phone:fedcba9876543210"


def run(
    run_id: int,
    personas: dict[str, tuple[str, tuple[str, ...]]],
    networks: dict[str, tuple[tuple[str, ...], tuple[str, ...]]],
) -> RunView:
    return RunView(
        run_id,
        {p: PersonaView(n, places) for p, (n, places) in personas.items()},
        {n: NetworkView(places, points) for n, (places, points) in networks.items()},
    )


FIRST = run(
    1,
    {"P-1": ("N-1", ("Utrecht",)), "P-2": ("N-1", ("Amersfoort",))},
    {"N-1": (("Utrecht", "Amersfoort"), (PHONE,))},
)


def state(kind: WatchKind, item: str, *, active: bool = True, watch_id: int = 7) -> WatchState:
    return WatchState(watch_id, kind, item, baseline(kind, item, FIRST), active=active)


def kinds(alerts: tuple[Alert, ...]) -> list[tuple[AlertKind, str]]:
    return [(a.kind, a.detail) for a in alerts]


def test_regions_are_provinces_and_an_unknown_place_has_none() -> None:
    assert region_of("Amersfoort") == "Utrecht"
    assert region_of("Zwolle") == "Overijssel"
    assert region_of("Nergenshuizen") is None


def test_the_baseline_is_the_item_in_the_latest_run() -> None:
    assert baseline(WatchKind.PERSONA, "P-1", FIRST) == Seen(
        frozenset({"Utrecht"}), frozenset({"Utrecht"}), frozenset({"P-1"})
    )
    assert baseline(WatchKind.CONTACT_POINT, PHONE, FIRST).personas == {"P-1", "P-2"}
    assert baseline(WatchKind.NETWORK, "N-1", None) == Seen()


def test_nothing_when_nothing_changed() -> None:
    again = run(
        2,
        {**{p: (v.network_id, v.municipalities) for p, v in FIRST.personas.items()}},
        {"N-1": (("Utrecht", "Amersfoort"), (PHONE,))},
    )
    watches = [
        state(WatchKind.PERSONA, "P-1", watch_id=1),
        state(WatchKind.NETWORK, "N-1", watch_id=2),
        state(WatchKind.CONTACT_POINT, PHONE, watch_id=3),
    ]
    derived = derive_alerts(watches, again)
    assert derived.alerts == ()
    assert derived.seen == {w.watch_id: w.seen for w in watches}


def test_a_new_municipality_in_a_known_region() -> None:
    moved = run(2, {"P-1": ("N-1", ("Utrecht", "Zeist"))}, {})
    derived = derive_alerts([state(WatchKind.PERSONA, "P-1")], moved)
    assert derived.alerts == (Alert(7, 2, AlertKind.NEW_MUNICIPALITY, "Zeist"),)
    assert derived.seen[7].municipalities == {"Utrecht", "Zeist"}


def test_a_new_municipality_in_a_new_region_is_both() -> None:
    moved = run(2, {"P-1": ("N-1", ("Zwolle",))}, {})
    derived = derive_alerts([state(WatchKind.PERSONA, "P-1")], moved)
    assert kinds(derived.alerts) == [
        (AlertKind.NEW_MUNICIPALITY, "Zwolle"),
        (AlertKind.NEW_REGION, "Overijssel"),
    ]
    # What was seen before stays seen: going back to Utrecht later is no news.
    assert derived.seen[7].municipalities == {"Utrecht", "Zwolle"}


def test_a_new_persona_on_a_watched_phone() -> None:
    joined = run(
        2,
        {"P-1": ("N-1", ("Utrecht",)), "P-9": ("N-1", ("Utrecht",))},
        {"N-1": (("Utrecht", "Amersfoort"), (PHONE,))},
    )
    derived = derive_alerts([state(WatchKind.CONTACT_POINT, PHONE)], joined)
    assert kinds(derived.alerts) == [(AlertKind.NEW_PERSONA, "P-9")]


def test_a_phone_in_another_network_brings_its_places_and_personas() -> None:
    spread = run(
        2,
        {"P-1": ("N-1", ("Utrecht",)), "P-5": ("N-5", ("Maastricht",))},
        {
            "N-1": (("Utrecht",), (PHONE,)),
            "N-5": (("Maastricht",), (OTHER_PHONE, PHONE)),
        },
    )
    derived = derive_alerts([state(WatchKind.CONTACT_POINT, PHONE)], spread)
    assert kinds(derived.alerts) == [
        (AlertKind.NEW_MUNICIPALITY, "Maastricht"),
        (AlertKind.NEW_REGION, "Limburg"),
        (AlertKind.NEW_PERSONA, "P-5"),
    ]


def test_a_persona_joins_a_watched_network() -> None:
    joined = run(
        2,
        {"P-1": ("N-1", ("Utrecht",)), "P-3": ("N-1", ("Amersfoort",))},
        {"N-1": (("Utrecht", "Amersfoort"), ())},
    )
    derived = derive_alerts([state(WatchKind.NETWORK, "N-1")], joined)
    assert kinds(derived.alerts) == [(AlertKind.NEW_PERSONA, "P-3")]


def test_nothing_for_an_ended_watch() -> None:
    moved = run(2, {"P-1": ("N-1", ("Zwolle",))}, {"N-1": (("Zwolle",), (PHONE,))})
    ended = [
        state(WatchKind.PERSONA, "P-1", active=False, watch_id=1),
        state(WatchKind.CONTACT_POINT, PHONE, active=False, watch_id=2),
    ]
    derived = derive_alerts(ended, moved)
    assert derived.alerts == ()
    assert derived.seen == {}


def test_an_item_the_run_does_not_hold_keeps_its_state() -> None:
    derived = derive_alerts([state(WatchKind.PERSONA, "P-1")], run(2, {}, {}))
    assert derived.alerts == ()
    assert derived.seen == {}
