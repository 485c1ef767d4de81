"""Watchlist alerts, derived: what a watched item shows in a new run that it did not show before.

Pure functions, no store: :func:`derive_alerts` takes the state of the watches (what each has
seen so far) and the watched items as one new run shows them (:class:`RunView`), and returns
the alerts and each watch's new state. The adapters around it
(:mod:`signaal.monitor.watchlists`, :mod:`signaal.store.watchlists`) read and write the store.

What is watched and what counts as a change:

* a **persona**: it is advertised in a municipality it was not seen in before
  (``new_municipality``), in a region (province, :func:`region_of`) it was not seen in before
  (``new_region``);
* a **network**: the same for the network's municipalities, and a persona of the run that is in
  the network and was not before (``new_persona``);
* a **contact point** (a keyed pseudonym, never the clear value): the same over the networks
  that advertise with it (their municipalities and their personas).

An item that the new run does not hold gives no alert and leaves the state as it was; a stopped
watch gives no alert at all. Nothing is compared across organisations: the caller gives the runs
and watches of one organisation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from signaal import geo


class WatchKind(StrEnum):
    PERSONA = "persona"
    NETWORK = "network"
    CONTACT_POINT = "contact_point"


class AlertKind(StrEnum):
    NEW_MUNICIPALITY = "new_municipality"
    NEW_REGION = "new_region"
    NEW_PERSONA = "new_persona"


def region_of(municipality: str) -> str | None:
    """The region (province) of a municipality as :mod:`signaal.geo` names it; None for a name
    it does not know (such a place gives no region alert)."""
    try:
        return geo.municipality(municipality).province
    except KeyError:
        return None


@dataclass(frozen=True)
class Seen:
    """What a watch has seen of its item so far."""

    municipalities: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    personas: frozenset[str] = frozenset()

    def with_(self, observed: Observation) -> Seen:
        return Seen(
            self.municipalities | observed.municipalities,
            self.regions | observed.regions,
            self.personas | observed.personas,
        )


@dataclass(frozen=True)
class WatchState:
    watch_id: int
    kind: WatchKind
    item_id: str  # a persona or network id, or a contact point's pseudonym
    seen: Seen
    active: bool = True


@dataclass(frozen=True)
class PersonaView:
    network_id: str
    municipalities: tuple[str, ...]


@dataclass(frozen=True)
class NetworkView:
    municipalities: tuple[str, ...]
    contact_points: tuple[str, ...]  # pseudonyms


@dataclass(frozen=True)
class RunView:
    """The part of one stored run that the watches look at: personas and networks by id (the
    adapter may give only those the watches name)."""

    run_id: int
    personas: Mapping[str, PersonaView] = field(default_factory=dict)
    networks: Mapping[str, NetworkView] = field(default_factory=dict)


@dataclass(frozen=True)
class Observation:
    """A watched item in one run."""

    municipalities: frozenset[str]
    personas: frozenset[str]

    @property
    def regions(self) -> frozenset[str]:
        return frozenset(r for m in self.municipalities if (r := region_of(m)) is not None)


@dataclass(frozen=True)
class Alert:
    watch_id: int
    run_id: int
    kind: AlertKind
    detail: str  # the municipality, region or persona id


@dataclass(frozen=True)
class Derived:
    alerts: tuple[Alert, ...]
    # The new state of every watch the run holds something of (others are unchanged).
    seen: Mapping[int, Seen]


def observe(kind: WatchKind, item_id: str, run: RunView) -> Observation | None:
    """The watched item as ``run`` shows it; None when the run does not hold it."""
    if kind is WatchKind.PERSONA:
        persona = run.personas.get(item_id)
        if persona is None:
            return None
        return Observation(frozenset(persona.municipalities), frozenset({item_id}))
    if kind is WatchKind.NETWORK:
        networks = {item_id} if item_id in run.networks else set()
    else:
        networks = {n for n, view in run.networks.items() if item_id in view.contact_points}
    if not networks:
        return None
    places = frozenset(m for n in networks for m in run.networks[n].municipalities)
    personas = frozenset(p for p, view in run.personas.items() if view.network_id in networks)
    return Observation(places, personas)


def _changes(watch: WatchState, observed: Observation, run_id: int) -> list[Alert]:
    def alerts(kind: AlertKind, new: Iterable[str]) -> list[Alert]:
        return [Alert(watch.watch_id, run_id, kind, detail) for detail in sorted(new)]

    found = alerts(
        AlertKind.NEW_MUNICIPALITY, observed.municipalities - watch.seen.municipalities
    ) + alerts(AlertKind.NEW_REGION, observed.regions - watch.seen.regions)
    if watch.kind is not WatchKind.PERSONA:  # a persona does not gain personas
        found += alerts(AlertKind.NEW_PERSONA, observed.personas - watch.seen.personas)
    return found


def baseline(watch_kind: WatchKind, item_id: str, run: RunView | None) -> Seen:
    """What a new watch has seen: its item in the latest run (nothing without one), so that only
    what changes after the watch began gives alerts."""
    observed = observe(watch_kind, item_id, run) if run is not None else None
    return Seen().with_(observed) if observed is not None else Seen()


def derive_alerts(watches: Iterable[WatchState], run: RunView) -> Derived:
    """The alerts of ``run`` for ``watches`` (old state, new run → alerts, new state)."""
    found: list[Alert] = []
    seen: dict[int, Seen] = {}
    for watch in watches:
        if not watch.active:
            continue
        observed = observe(watch.kind, watch.item_id, run)
        if observed is None:
            continue
        found += _changes(watch, observed, run.run_id)
        seen[watch.watch_id] = watch.seen.with_(observed)
    return Derived(tuple(found), seen)
