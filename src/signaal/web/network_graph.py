"""The graph of one network for its page: personas, contact points, photos and text templates as
nodes, each link with its reason, laid out deterministically for an inline SVG.

The links come from what the store holds of the analysis: a persona's reasons name the contact
point it shares (``shared_contact``, with the pseudonym and its masked form) and the photo or
text-template cluster it shares (``shared_photo``, ``stolen_photo``, ``shared_template``); an ad
text names a contact point by its pseudonym marker (``[phone:3f9a…]``). A contact point is shown
as its masked form (``06-•••••97``) or its kind, never in the clear: the clear value is only ever
shown by the reveal flow (``signaal.web.routes.contacts``), to the roles that may.

Huge networks are capped: the personas given (the caller passes the highest-risk ones) and at
most :data:`MAX_CONTACTS` contact points and :data:`MAX_CLUSTERS` photo and template clusters,
the most linked first; :class:`NetworkGraph` says what was left out.

:func:`layout` is a pure function: the same nodes and links give the same positions, always
inside the drawing box (a force layout, Fruchterman and Reingold 1991, from a circle, with a
fixed number of steps and no randomness).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from signaal.store.analysis import PSEUDONYM, AdResult, NetworkResult, PersonaResult
from signaal.web import analysis_views
from signaal.web.i18n import N_
from signaal.web.routes.contacts import PSEUDONYM_MARKER

MAX_CONTACTS = 40
MAX_CLUSTERS = 20
WIDTH = 640.0
HEIGHT = 440.0
MARGIN = 44.0  # room for a label under a node at the border

#: A contact point's kind as the page names it (translated when rendered).
CONTACT_KINDS: dict[str, str] = {
    "phone": N_("phone number"),
    "email": N_("e-mail address"),
    "handle": N_("messenger account"),
    "website": N_("website"),
}

NodeKind = Literal["persona", "contact", "photo", "template"]
#: Why a persona is linked to a node: it shares a contact point (a reason of its score), a
#: contact point is in the text of one of its ads, it shares photos with personas of the network
#: or with earlier unlinked ones, or it shares a text template.
LinkReason = Literal[
    "shared_contact", "contact_in_text", "shared_photo", "stolen_photo", "shared_template"
]
_CLUSTER_REASONS: dict[str, LinkReason] = {
    "shared_photo": "shared_photo",
    "stolen_photo": "stolen_photo",
    "shared_template": "shared_template",
}


@dataclass(frozen=True, slots=True)
class Node:
    id: str  # persona id, contact pseudonym, or cluster key ("photo:3", "template:71")
    kind: NodeKind
    #: What the node shows: the persona id, the masked contact point ("" when only its kind is
    #: known) or the cluster's number.
    label: str
    contact_kind: str | None = None  # phone, email, handle, website
    risk_score: int | None = None  # of a persona
    x: float = 0.0
    y: float = 0.0


@dataclass(frozen=True, slots=True)
class Link:
    persona_id: str
    node_id: str
    reason: LinkReason


@dataclass(frozen=True, slots=True)
class NetworkGraph:
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    n_personas: int  # of the whole network
    n_contacts_left_out: int
    n_clusters_left_out: int
    #: Contact points of the network that no shown persona is linked to in the stored data.
    unlinked_contacts: tuple[Node, ...]
    width: float = WIDTH
    height: float = HEIGHT

    @property
    def n_personas_shown(self) -> int:
        return sum(1 for node in self.nodes if node.kind == "persona")

    @property
    def capped(self) -> bool:
        return (
            self.n_personas_shown < self.n_personas
            or self.n_contacts_left_out > 0
            or self.n_clusters_left_out > 0
        )

    def node(self, node_id: str) -> Node:
        return next(node for node in self.nodes if node.id == node_id)

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width:.0f} {self.height:.0f}"


def _contact_node(pseudonym: str, masked: Mapping[str, str]) -> Node:
    return Node(
        pseudonym, "contact", masked.get(pseudonym, ""), contact_kind=pseudonym.partition(":")[0]
    )


def _persona_links(
    persona: PersonaResult, records: Iterable[Mapping[str, Any]], ads: Iterable[AdResult]
) -> list[Link]:
    links: dict[tuple[str, str], LinkReason] = {}
    for record in records:
        kind = str(record.get("kind") or "")
        contact, cluster = record.get("contact"), record.get("cluster")
        if kind == "shared_contact" and isinstance(contact, str) and PSEUDONYM.match(contact):
            links[(contact, "contact")] = "shared_contact"
        elif kind in _CLUSTER_REASONS and isinstance(cluster, str) and cluster:
            links.setdefault((cluster, "cluster"), _CLUSTER_REASONS[kind])
    for ad in ads:
        for text in (ad.title, ad.text):
            for match in PSEUDONYM_MARKER.finditer(text or ""):
                links.setdefault((match.group(1), "contact"), "contact_in_text")
    return [Link(persona.persona_id, key, reason) for (key, _), reason in sorted(links.items())]


def _most_linked(keys: Counter[str], limit: int) -> list[str]:
    return [key for key, _ in sorted(keys.items(), key=lambda item: (-item[1], item[0]))][:limit]


def build_graph(
    network: NetworkResult,
    personas: Sequence[PersonaResult],
    ads: Sequence[AdResult],
    *,
    max_contacts: int = MAX_CONTACTS,
    max_clusters: int = MAX_CLUSTERS,
) -> NetworkGraph:
    """The graph of ``network`` with the ``personas`` given (highest risk first) and what their
    reasons and the ``ads`` of those personas link them to; laid out by :func:`layout`."""
    network_records = analysis_views.reason_records(network.reasons_json, network.reasons)
    persona_records = {
        p.persona_id: analysis_views.reason_records(p.reasons_json, p.reasons) for p in personas
    }
    masked = analysis_views.masked_forms(network_records, *persona_records.values())
    ads_of: dict[str, list[AdResult]] = {}
    for ad in ads:
        ads_of.setdefault(ad.persona_id, []).append(ad)
    candidates = [
        link
        for p in personas
        for link in _persona_links(p, persona_records[p.persona_id], ads_of.get(p.persona_id, ()))
    ]
    contact_links = Counter(link.node_id for link in candidates if PSEUDONYM.match(link.node_id))
    cluster_links = Counter(
        link.node_id for link in candidates if not PSEUDONYM.match(link.node_id)
    )
    contacts = sorted(_most_linked(contact_links, max_contacts))
    clusters = sorted(_most_linked(cluster_links, max_clusters))
    kept = set(contacts) | set(clusters)
    links = tuple(link for link in candidates if link.node_id in kept)
    nodes = [Node(p.persona_id, "persona", p.persona_id, risk_score=p.risk_score) for p in personas]
    nodes += [_contact_node(name, masked) for name in contacts]
    for key in clusters:
        kind, _, number = key.partition(":")
        nodes.append(Node(key, "template" if kind == "template" else "photo", number or key))
    index = {node.id: i for i, node in enumerate(nodes)}
    positions = layout(
        len(nodes),
        [(index[link.persona_id], index[link.node_id]) for link in links],
        width=WIDTH,
        height=HEIGHT,
    )
    placed = tuple(replace(n, x=x, y=y) for n, (x, y) in zip(nodes, positions, strict=True))
    unlinked = tuple(
        _contact_node(name, masked)
        for name in network.contact_points
        if PSEUDONYM.match(name) and name not in contact_links
    )
    return NetworkGraph(
        nodes=placed,
        links=links,
        n_personas=max(network.n_personas, len(personas)),
        n_contacts_left_out=len(contact_links) - len(contacts),
        n_clusters_left_out=len(cluster_links) - len(clusters),
        unlinked_contacts=unlinked,
    )


def layout(
    n_nodes: int,
    edges: Sequence[tuple[int, int]],
    *,
    width: float,
    height: float,
    margin: float = MARGIN,
    iterations: int = 150,
) -> list[tuple[float, float]]:
    """Positions of ``n_nodes`` nodes joined by ``edges`` (pairs of node indexes) in a box of
    ``width`` x ``height``, each at least ``margin`` from its border; rounded to 0.1.

    Deterministic: the nodes start on an ellipse in their order, then a fixed number of force
    steps (repulsion between all nodes, attraction along edges, a weak pull to the centre so that
    unlinked parts stay near) with a cooling step size; the result is scaled into the box.
    """
    if n_nodes <= 0:
        return []
    centre = np.array([width / 2, height / 2])
    if n_nodes == 1:
        return [(round(float(centre[0]), 1), round(float(centre[1]), 1))]
    low = np.array([margin, margin])
    high = np.array([width - margin, height - margin])
    radii = (high - low) / 2
    angles = 2 * math.pi * np.arange(n_nodes) / n_nodes
    pos = centre + np.column_stack((np.cos(angles), np.sin(angles))) * radii
    k = math.sqrt(float(np.prod(high - low)) / n_nodes)
    sources = np.array([a for a, b in edges if a != b], dtype=np.int64)
    targets = np.array([b for a, b in edges if a != b], dtype=np.int64)
    step = float(min(width, height)) / 8
    cooling = step / (iterations + 1)
    for _ in range(iterations):
        delta = pos[:, None, :] - pos[None, :, :]
        distance = np.maximum(np.hypot(delta[..., 0], delta[..., 1]), 0.01)
        move = ((k * k / distance**2)[..., None] * delta).sum(axis=1)
        if sources.size:
            along = pos[sources] - pos[targets]
            length = np.maximum(np.hypot(along[:, 0], along[:, 1]), 0.01)
            pull = along * (length / k)[:, None]
            np.subtract.at(move, sources, pull)
            np.add.at(move, targets, pull)
        move += (centre - pos) * 0.05
        size = np.maximum(np.hypot(move[:, 0], move[:, 1]), 1e-9)
        pos = pos + move / size[:, None] * np.minimum(size, step)[:, None]
        step -= cooling
    # Fitted into the box afterwards (clipping on the way would pile nodes up in a corner).
    # One scale for both axes keeps the shape; the drawing is centred in the box.
    lowest, highest = pos.min(axis=0), pos.max(axis=0)
    scale = float(np.min((high - low) / np.maximum(highest - lowest, 1.0)))
    fitted = centre + (pos - (lowest + highest) / 2) * scale
    return [(round(float(x), 1), round(float(y), 1)) for x, y in fitted]
