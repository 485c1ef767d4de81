"""The network page's pure parts: the graph layout (deterministic, inside its box), the graph
built from stored rows (capped), the weekly places and the flow map on the outline map's box."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from signaal.geo import areas
from signaal.store.analysis import AdResult, Flow, NetworkResult, PersonaResult
from signaal.web.network_graph import build_graph, layout
from signaal.web.network_movement import flow_map, weekly_places

RING = [(i, (i + 1) % 12) for i in range(12)]
STAR = [(0, i) for i in range(1, 40)] + [(40, 41), (41, 42)]


@pytest.mark.parametrize(("n_nodes", "edges"), [(12, RING), (45, STAR), (7, []), (2, [(0, 1)])])
def test_layout_is_deterministic_and_inside_its_box(
    n_nodes: int, edges: list[tuple[int, int]]
) -> None:
    first = layout(n_nodes, edges, width=640, height=440, margin=28)
    assert first == layout(n_nodes, list(edges), width=640, height=440, margin=28)
    assert len(first) == n_nodes
    for x, y in first:
        assert 28 <= x <= 640 - 28
        assert 28 <= y <= 440 - 28
    assert len(set(first)) == n_nodes  # no two nodes on one spot


def test_layout_pulls_linked_nodes_together() -> None:
    positions = layout(45, STAR, width=640, height=440)

    def distance(a: int, b: int) -> float:
        (x1, y1), (x2, y2) = positions[a], positions[b]
        return float(((x1 - x2) ** 2 + (y1 - y2) ** 2) ** 0.5)

    linked = sum(distance(0, i) for i in range(1, 40)) / 39
    unlinked = sum(distance(40, i) for i in range(1, 40)) / 39
    assert linked < unlinked


def test_layout_of_no_node_and_one_node() -> None:
    assert layout(0, [], width=100, height=50) == []
    assert layout(1, [], width=100, height=50) == [(50.0, 25.0)]


def _persona(persona_id: str, risk: int, facts: list[dict[str, object]]) -> PersonaResult:
    return PersonaResult(
        persona_id, "N-1", 1, None, None, (), risk, "", reasons_json=json.dumps(facts)
    )


def test_a_graph_is_capped_to_the_most_linked_contact_points() -> None:
    phones = [f"phone:{i:016x}" for i in range(10)]
    personas = [
        _persona(
            f"P-{i}",
            50,
            [
                {"id": "C01", "kind": "shared_contact", "contact": phone, "masked": "06-•••••0"}
                for phone in phones[: i + 1]
            ],
        )
        for i in range(10)
    ]
    network = NetworkResult("N-1", 10, 10, tuple(phones), (), 80, "", None)
    graph = build_graph(network, personas, [], max_contacts=3)
    contacts = [n.id for n in graph.nodes if n.kind == "contact"]
    assert contacts == phones[:3]  # linked to by 10, 9 and 8 personas
    assert graph.n_contacts_left_out == 7
    assert graph.capped
    assert all(link.node_id in contacts for link in graph.links)
    assert [n.id for n in graph.unlinked_contacts] == []  # every one is linked, some not drawn
    assert build_graph(network, personas, [], max_contacts=3) == graph


def _ad(ad_id: str, persona: str, place: str | None, at: datetime | None) -> AdResult:
    return AdResult(ad_id, persona, "N-1", 10, "log", (), at, None, place, None, None)


def test_weekly_places_show_where_each_persona_was_and_who_was_together() -> None:
    monday = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    ads = [
        _ad("a", "P-1", "Utrecht", monday),
        _ad("b", "P-1", "Utrecht", monday + timedelta(days=2)),
        _ad("c", "P-1", "Zeist", monday + timedelta(days=3)),
        _ad("d", "P-2", "Utrecht", monday + timedelta(days=6)),
        _ad("e", "P-2", "Ede", monday + timedelta(weeks=2)),
        _ad("f", "P-2", None, monday + timedelta(weeks=9)),  # no place: left out
        _ad("g", "P-3", "Ede", None),  # no time: left out
    ]
    grid = weekly_places(["P-1", "P-2", "P-3"], ads)
    assert [w.isoformat() for w in grid.weeks] == ["2026-11-02", "2026-11-09", "2026-11-16"]
    first, second, third = grid.rows
    assert [(c.municipality, c.n_other, c.together) for c in first.cells] == [
        ("Utrecht", 1, True),
        (None, 0, False),
        (None, 0, False),
    ]
    assert [c.municipality for c in second.cells] == ["Utrecht", None, "Ede"]
    assert [c.municipality for c in third.cells] == [None, None, None]
    capped = weekly_places(["P-1", "P-2"], ads, max_weeks=2)
    assert capped.capped
    assert [w.isoformat() for w in capped.weeks] == ["2026-11-09", "2026-11-16"]


def test_flow_map_draws_lines_between_centroids_on_the_outline_map() -> None:
    flows = [
        Flow("Utrecht", "Amersfoort", 4, 2),
        Flow("Amersfoort", "Utrecht", 1, 1),
        Flow("Nergenshuizen", "Utrecht", 2, 1),  # no outline: not drawn
    ]
    drawn = flow_map(flows)
    # The part of the map around the two towns, inside the whole map, its outlines cut to it.
    x, y, width, height = (float(v) for v in drawn.view_box.split())
    _, _, full_width, full_height = (float(v) for v in areas.view_box().split())
    assert 0 <= x <= x + width <= full_width
    assert 0 <= y <= y + height <= full_height
    assert width < full_width / 2
    for town in ("Utrecht", "Amersfoort"):
        tx, ty = areas.centroids()[town]
        assert x < tx < x + width
        assert y < ty < y + height
    for path in drawn.outlines:
        for px, py in re.findall(r"(-?[\d.]+) (-?[\d.]+)", path):
            assert x <= float(px) <= x + width
            assert y <= float(py) <= y + height
    assert 0 < len(drawn.outlines) < len(areas.outlines())
    everything = flow_map([])
    assert everything.view_box == f"0 0 {full_width:.0f} {full_height:.0f}"
    assert len(everything.outlines) == len(areas.outlines())
    assert [(line.flow.from_municipality, line.weight) for line in drawn.lines] == [
        ("Utrecht", 4),
        ("Amersfoort", 1),
    ]
    assert drawn.n_left_out == 1
    utrecht = areas.centroids()["Utrecht"]
    assert (drawn.lines[0].x1, drawn.lines[0].y1) == (round(utrecht[0], 1), round(utrecht[1], 1))
    assert flow_map(flows, max_lines=1).n_left_out == 2


def test_centroids_lie_inside_the_map() -> None:
    _, _, width, height = (float(v) for v in areas.view_box().split())
    centres = areas.centroids()
    assert len(centres) == len(areas.outlines())
    for x, y in centres.values():
        assert 0 <= x <= width
        assert 0 <= y <= height
    # Groningen is north-east of Maastricht, Amsterdam west of Utrecht.
    assert centres["Groningen"][1] < centres["Maastricht"][1]
    assert centres["Amsterdam"][0] < centres["Utrecht"][0]
