"""The persona page's movement map: the municipalities of the persona's ads in time order, an
arrow from each to the next on the outline map (the network page's renderer), and a table of the
same places; place names from hostile ads escaped, no inline script or style."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from signaal.store.analysis import AdResult
from signaal.store.db import transaction
from signaal.web.network_movement import persona_route

from .conftest import analysis_rows, store_analysis

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script>'


def _ad(ad_id: str, days: int, place: str | None) -> AdResult:
    return AdResult(
        ad_id, "P-1", "N-1", 10, "log", (), START + timedelta(days=days), None, place, None, None
    )


def test_the_route_is_the_places_in_time_order_with_moves_between_successive_ones() -> None:
    ads = [
        _ad("A-4", 9, "Utrecht"),  # newest first, as the store gives them
        _ad("A-3", 6, "Amersfoort"),
        _ad("A-5", 7, None),  # no municipality: left out
        _ad("A-2", 1, "Utrecht"),
        _ad("A-1", 0, "Utrecht"),
    ]
    route = persona_route(ads)
    assert [(p.municipality, p.n_ads) for p in route.places] == [("Utrecht", 3), ("Amersfoort", 1)]
    utrecht = route.places[0]
    assert (utrecht.first_seen, utrecht.last_seen) == (START, START + timedelta(days=9))
    assert sorted((m.from_municipality, m.to_municipality, m.n_moves) for m in route.moves) == [
        ("Amersfoort", "Utrecht", 1),
        ("Utrecht", "Amersfoort", 1),
    ]
    assert len(route.map.lines) == 2
    assert [name for name, _, _ in route.map.places] == ["Amersfoort", "Utrecht"]


def test_a_persona_that_never_moved_is_one_place_on_the_map() -> None:
    route = persona_route([_ad("A-1", 0, "Ede"), _ad("A-2", 3, "Ede")])
    assert route.moves == ()
    assert [name for name, _, _ in route.map.places] == ["Ede"]
    assert persona_route([]).places == ()


def _section(html: str, heading_id: str) -> str:
    return html.split(f'id="{heading_id}"')[1].split("</section>")[0]


def test_the_persona_page_draws_the_route_with_a_table(
    client, state, accounts_by_role, sign_in
) -> None:  # type: ignore[no-untyped-def]
    rows = analysis_rows()
    third = dict(rows["ads"][0], ad_id="A-3", municipality=HOSTILE)
    third["posted_at"] = datetime.now(UTC)
    rows["ads"].append(third)
    organisation = accounts_by_role["outreach_worker"].organisation_id
    with transaction(state.sessions) as session:
        store_analysis(session, state.settings, organisation, rows)
    sign_in(accounts_by_role["outreach_worker"])
    page = client.get("/analyse/personas/P-1?doel=prepare_outreach")
    assert page.status_code == 200
    section = _section(page.text, "titel-route")
    svg = section.split("</svg>")[0]
    assert svg.count('class="flow flow-') == 1  # Amersfoort -> Utrecht; the other has no outline
    assert svg.count('class="band-0"') > 10
    assert "Amersfoort</text>" in svg
    assert "Utrecht</text>" in svg
    body = section.split("<tbody>")[1].split("</tbody>")[0]
    places = [
        re.sub(r"<[^>]+>", "", row.split("</td>")[0]).strip()
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]
    assert places == ["Amersfoort", "Utrecht", "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"]
    assert HOSTILE not in page.text
    assert " style=" not in page.text
    assert "<script>" not in page.text
