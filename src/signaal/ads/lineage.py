"""Stable persona and network ids from one run to the next, and the merges and splits between.

A run names each persona and network after its smallest ad id (``link.persona_id``). Day after
day that name mostly stays, since new ads tend to have larger ids; but a new ad with a smaller
id, two personas joined by new evidence, or a persona whose evidence no longer holds would give
the people who follow a persona a new name for the same woman. So a run that knows the previous
run's assignment (ad id -> persona id, ad id -> network id) carries the old names over:

- each group of this run is matched with the previous group it shares the most ads with
  (largest overlap first; ties by the old id, then the new one), one to one: an old id lives on
  in at most one group, and a group takes at most one old id;
- a group that matches no old group keeps its own name, unless that name is taken (the group's
  smallest ad headed an old group that lives on elsewhere), then it gets the name of its
  smallest ad id and a counter, the first one free;
- a group that holds the ads of two or more old groups is a **merge**; an old group whose ads
  are now in two or more groups is a **split**. Each is an event with the evidence of this run
  that joins the old parts (a merge) or that still connects the new parts (a split, often none:
  the same-persona evidence no longer holds), as the link stage wrote it (pseudonyms, never a
  contact point itself).

Ads that the previous run did not have count for nothing in the matching; ads that are gone
(expired, deleted) simply no longer vote. Everything here is pure: mappings in, mappings out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from signaal.ads.link import network_id, persona_id
from signaal.ads.types import Link, Linkage, SharedEvidence

Level = Literal["persona", "network"]
EventKind = Literal["merged", "split"]

#: The links kept as the evidence of one event (the first ones, in ad id order).
MAX_EVIDENCE = 5


@dataclass(frozen=True, slots=True)
class PreviousIds:
    """The previous run's assignment of ads: ad id -> persona id and ad id -> network id."""

    persona_of_ad: Mapping[str, str]
    network_of_ad: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class EvidenceLink:
    """One link of this run between two ads, as the link stage wrote it."""

    ad_id_a: str
    ad_id_b: str
    kind: str
    evidence: str


@dataclass(frozen=True, slots=True)
class LineageEvent:
    """A merge or a split of personas or networks between the previous run and this one.

    merged: ``item_id`` is the group of this run; ``previous_ids`` the old groups it joins
    (its own old id first when it kept one). split: ``item_id`` is the old group;
    ``current_ids`` the groups of this run its ads are in now (the one that kept the id first).
    ``evidence``: merged, the links that join the old parts; split, the links that still connect
    the new parts (none when nothing does).
    """

    level: Level
    kind: EventKind
    item_id: str
    previous_ids: tuple[str, ...]
    current_ids: tuple[str, ...]
    evidence: tuple[EvidenceLink, ...]


def carried_names(
    previous: Mapping[str, str], current: Mapping[str, str], make: Callable[[str], str]
) -> dict[str, str]:
    """The final name of each current group (keyed by its provisional name).

    ``previous`` and ``current`` map ad ids to group names; ``make`` names a group after an ad
    id (``persona_id`` or ``network_id``).
    """
    overlap: Counter[tuple[str, str]] = Counter()
    smallest: dict[str, str] = {}
    for ad_id, group in current.items():
        if group not in smallest or ad_id < smallest[group]:
            smallest[group] = ad_id
        old = previous.get(ad_id)
        if old is not None:
            overlap[(group, old)] += 1
    names: dict[str, str] = {}
    taken: set[str] = set()
    for (group, old), _count in sorted(
        overlap.items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0])
    ):
        if group in names or old in taken:
            continue
        names[group] = old
        taken.add(old)
    old_names = set(previous.values())
    for group in sorted(set(current.values()) - names.keys()):
        name = group
        counter = 1
        while name in taken or name in old_names:
            counter += 1
            name = make(f"{smallest[group]}#{counter}")
        names[group] = name
        taken.add(name)
    return names


def _events(
    level: Level,
    previous: Mapping[str, str],
    current: Mapping[str, str],
    links: Iterable[Link],
) -> list[LineageEvent]:
    """The merges and splits between two assignments under their final names."""
    old_of_new: dict[str, Counter[str]] = defaultdict(Counter)
    new_of_old: dict[str, Counter[str]] = defaultdict(Counter)
    for ad_id, group in current.items():
        old = previous.get(ad_id)
        if old is not None:
            old_of_new[group][old] += 1
            new_of_old[old][group] += 1
    merged = {group for group, olds in old_of_new.items() if len(olds) > 1}
    split = {old for old, groups in new_of_old.items() if len(groups) > 1}
    if not merged and not split:
        return []
    joining: dict[str, list[EvidenceLink]] = defaultdict(list)
    connecting: dict[str, list[EvidenceLink]] = defaultdict(list)
    for link in sorted(links, key=lambda k: (k.ad_id_a, k.ad_id_b, k.kind.value, k.evidence)):
        a, b = link.ad_id_a, link.ad_id_b
        group_a, group_b = current.get(a), current.get(b)
        old_a, old_b = previous.get(a), previous.get(b)
        item = EvidenceLink(a, b, link.kind.value, link.evidence)
        # Two old parts, or an old part and a new ad (a new ad can bridge two parts).
        joins_old_parts = old_a != old_b and (old_a is not None or old_b is not None)
        if group_a is not None and group_a == group_b and group_a in merged and joins_old_parts:
            found = joining[group_a]
            if len(found) < MAX_EVIDENCE and item not in found:
                found.append(item)
        if old_a is not None and old_a == old_b and old_a in split and group_a != group_b:
            found = connecting[old_a]
            if len(found) < MAX_EVIDENCE and item not in found:
                found.append(item)
    events: list[LineageEvent] = []
    for group in sorted(merged):
        olds = sorted(old_of_new[group], key=lambda o: (o != group, o))
        events.append(
            LineageEvent(level, "merged", group, tuple(olds), (group,), tuple(joining[group]))
        )
    for old in sorted(split):
        groups = sorted(new_of_old[old], key=lambda g: (g != old, g))
        events.append(
            LineageEvent(level, "split", old, (old,), tuple(groups), tuple(connecting[old]))
        )
    return events


def carry_ids(linkage: Linkage, previous: PreviousIds) -> tuple[Linkage, tuple[LineageEvent, ...]]:
    """The linkage with the previous run's names carried over, and the merges and splits."""
    persona_names = carried_names(previous.persona_of_ad, linkage.persona_of_ad, persona_id)
    network_of_ad = {
        ad_id: linkage.network_of_persona[persona]
        for ad_id, persona in linkage.persona_of_ad.items()
    }
    network_names = carried_names(previous.network_of_ad, network_of_ad, network_id)
    renamed = rename(linkage, persona_names, network_names)
    final_personas = renamed.persona_of_ad
    final_networks = {ad_id: network_names[net] for ad_id, net in network_of_ad.items()}
    events = [
        *_events("persona", previous.persona_of_ad, final_personas, renamed.links),
        *_events("network", previous.network_of_ad, final_networks, renamed.links),
    ]
    return renamed, tuple(events)


def rename(linkage: Linkage, personas: Mapping[str, str], networks: Mapping[str, str]) -> Linkage:
    """The same linkage under other persona and network names (both maps total, one to one)."""
    if all(k == v for k, v in personas.items()) and all(k == v for k, v in networks.items()):
        return linkage
    new_shared: dict[int, SharedEvidence] = {}

    def shared(ev: SharedEvidence) -> SharedEvidence:
        done = new_shared.get(id(ev))
        if done is None:
            pairs = sorted(zip((personas[p] for p in ev.personas), ev.ad_ids, strict=True))
            done = replace(
                ev,
                personas=tuple(p for p, _ in pairs),
                ad_ids=tuple(a for _, a in pairs),
                first_persona=None if ev.first_persona is None else personas[ev.first_persona],
            )
            new_shared[id(ev)] = done
        return done

    return replace(
        linkage,
        persona_of_ad={ad_id: personas[p] for ad_id, p in linkage.persona_of_ad.items()},
        network_of_persona={
            personas[p]: networks[n] for p, n in linkage.network_of_persona.items()
        },
        network_reasons={networks[n]: r for n, r in linkage.network_reasons.items()},
        shared={personas[p]: tuple(map(shared, evs)) for p, evs in linkage.shared.items()},
    )
