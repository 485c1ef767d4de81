"""The link stage: ads -> links, personas and networks.

Persona versus network is the crux. A *persona* is one advertised person; a *network* is a set of
personas under shared control. Evidence therefore works on two levels:

1. **Same persona** needs a shared identifier *and* a compatible profile. Ads are joined when they
   share a contact point (phone, e-mail, handle, website), a photo (PDQ within
   ``photo_max_distance``) or a near-duplicate text (MinHash/LSH on masked text, common shingles
   weighing little), **and** carry the same advertised name (accent- and case-folded, or a
   written variant of it) and a compatible age (equal, or one year apart when the younger age
   comes first in time), **and** that profile is rare enough in this corpus that no unrelated
   woman seen with the identifier is expected to share it (``signaal.ads.profiles``). A missing
   age is unknown, not a value. Unnamed ads join the single named persona of their contact
   point, or each other by age.
2. **Same network** joins personas that share a contact point (C01/C05) or a text template
   (near-duplicate text under different names, C03). A photo shared by personas with nothing
   else in common does *not* join them: that is the pattern of a scammer advertising with stolen
   photos under another name and phone, and merging would put the scammer into the victim's
   network. The shared photo is still recorded as evidence (``SharedEvidence.joins_network`` is
   false) so that risk and a reviewer see it.

All grouping is vectorised with numpy over (ad, evidence group) memberships; components come from
``graph.components``. Ads are processed in order of their id, so the result does not depend on
the input order, and ids are derived from the smallest ad id of each persona (``P-``) or
network (``N-``): the same input gives the same ids on every run.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from signaal.ads.graph import IntArray, chain_edges, components, distinct, run_starts
from signaal.ads.photos import DEFAULT_MAX_DISTANCE, DEFAULT_MIN_QUALITY, near_duplicate_photos
from signaal.ads.profiles import collision_ok, name_classes
from signaal.ads.textsim import TextLinks, TextSimConfig, fold, text_links
from signaal.ads.types import (
    ContactKind,
    IndicatorHit,
    Link,
    Linkage,
    LinkKind,
    NormalisedAd,
    PhotoHash,
    SharedEvidence,
)
from signaal.privacy.pseudonyms import pseudonym

_KIND_OF_CONTACT = {
    ContactKind.PHONE: LinkKind.PHONE,
    ContactKind.EMAIL: LinkKind.EMAIL,
    ContactKind.HANDLE: LinkKind.HANDLE,
    ContactKind.WEBSITE: LinkKind.HANDLE,
}
_NAME_CLEAN = re.compile(r"[^a-z]+")
_DUO_SPLIT = re.compile(r"\s*(?:&|\+|/|,|\ben\b|\band\b|\bund\b)\s*", re.IGNORECASE)
_DAY = 86400.0
# A self-introduction with a capitalised word: "Ik ben Anna", "Ben Anna", "Zij heet Anna",
# "My name is Anna", "I'm Anna", "Call me Anna", or the word first: "Anna hier", "Anna here"
# (the word counts only if it is a known name).
_INTRODUCTION = re.compile(
    r"\b(?:[Ii]k ben|[Bb]en|[Ii]k heet|[Zz]ij heet|[Hh]eet|[Mm]y name is|I am|I'm|[Cc]all me"
    r"|[Dd]it is|[Hh]ier is)\s+([A-ZÀ-Ý][a-zà-ÿ]+)"
    r"|\b([A-ZÀ-Ý][a-zà-ÿ]+)\s+(?:hier|here)\b"
)
_record_id = attrgetter("record.id")
# Rounds of "link, flag too-common identifiers, link again without them" (one or two suffice:
# each round only splits personas).
_MAX_COMMON_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """Parameters of the link stage (defaults tuned on synthetic corpora, see docs)."""

    text: TextSimConfig = field(default_factory=TextSimConfig)
    #: Photos within this Hamming distance (of 256 bits) are the same picture.
    photo_max_distance: int = DEFAULT_MAX_DISTANCE
    #: Photos below this PDQ quality are ignored (too little structure to match).
    photo_min_quality: int = DEFAULT_MIN_QUALITY
    #: Ages this far apart may be one persona when the younger age was advertised first.
    age_tolerance: int = 1
    #: Days the age-change ordering may overlap (an old ad still online after a birthday).
    age_overlap_days: float = 7.0
    #: Extra place names to mask in texts (municipalities from ``signaal.geo`` are added).
    places: tuple[str, ...] = ()
    #: A contact point used by more personas than this is treated as boiler-plate (e.g. a
    #: site's own number): it is reported but joins nothing.
    max_personas_per_contact: int = 60
    #: A template shared by more personas than this is generic wording, not a network template.
    max_personas_per_template: int = 25
    #: Estimated Jaccard similarity two texts need to be one network's template (at least
    #: ``text.threshold``). A text pair that reaches only ``text.threshold`` is same-persona
    #: evidence (with the profile rule) but joins no network: one woman rewrites her own ad more
    #: freely than a network keeps its template, and a loose template would chain unrelated
    #: women as the corpus grows.
    network_text_similarity: float = 0.7

    def __post_init__(self) -> None:
        if not 0.0 < self.network_text_similarity <= 1.0:
            raise ValueError(
                f"network_text_similarity must be in (0, 1], got {self.network_text_similarity}"
            )


@dataclass(frozen=True, slots=True)
class _Group:
    """Memberships of ads in evidence groups: parallel arrays, one row per (ad, group)."""

    ad: IntArray
    group: IntArray
    kind: list[LinkKind]  # per group
    label: list[str]  # per group: pseudonym or cluster name


def persona_id(smallest_ad_id: str) -> str:
    """``P-`` and 12 hex characters of SHA-256 of the persona's smallest ad id."""
    return "P-" + hashlib.sha256(smallest_ad_id.encode("utf-8")).hexdigest()[:12]


def network_id(smallest_ad_id: str) -> str:
    """``N-`` and 12 hex characters of SHA-256 of the network's smallest ad id."""
    return "N-" + hashlib.sha256(smallest_ad_id.encode("utf-8")).hexdigest()[:12]


def _ids_of(labels: IntArray, ids: Sequence[str], make: Callable[[str], str]) -> list[str]:
    """The id of each node's component, derived once per component from its smallest ad id."""
    roots, inverse = np.unique(labels, return_inverse=True)
    names = [make(ids[r]) for r in roots.tolist()]
    return [names[k] for k in inverse.tolist()]


def normalise_name(name: str | None) -> str | None:
    """Advertised names compared case-, accent- and punctuation-blind (``Zoë!`` -> ``zoe``).

    A duo ad ("Femke & Debby", "Anna en Romy") belongs to the persona of its first name: the
    same woman advertises alone and together with a friend on the same phone.
    """
    if not name:
        return None
    name = _DUO_SPLIT.split(name, maxsplit=1)[0]
    cleaned = _NAME_CLEAN.sub("", fold(name))
    return cleaned or None


def _introduced_name(title: str | None, text: str | None, known: Mapping[str, int]) -> int:
    """The id of the first known name an ad introduces itself with in its title or text, or -1."""
    for part in (title, text):
        if not part:
            continue
        for match in _INTRODUCTION.finditer(part):
            key = normalise_name(match.group(1) or match.group(2))
            if key is not None and key in known:
                return known[key]
    return -1


@cache
def _default_places() -> tuple[str, ...]:
    """Municipality and place names of ``signaal.geo`` (masked as ``<place>`` in texts)."""
    try:
        from signaal import geo
    except ImportError:  # an engine without the geography: the corpus's own places still count
        return ()
    names = {m.name for m in geo.municipalities()}
    names.update(p.name for p in geo.places())
    return tuple(sorted(names))


def _text_of(ad: NormalisedAd) -> tuple[str, list[tuple[int, int]]]:
    title = ad.record.title or ""
    text = ad.record.text or ""
    offset = len(title) + 1
    masks: list[tuple[int, int]] = []
    for contact in ad.contacts:
        if contact.span is None:
            continue
        if contact.source == "title":
            masks.append(contact.span)
        elif contact.source == "text":
            masks.append((contact.span[0] + offset, contact.span[1] + offset))
    return f"{title}\n{text}", masks


def _contact_groups(
    ads: Sequence[NormalisedAd], pseudonym_key: str
) -> tuple[_Group, dict[str, str]]:
    # Keyed by the kind's identity (enum members are singletons; hashing them runs Python code).
    index: dict[tuple[int, str], int] = {}
    ad_rows: list[int] = []
    group_rows: list[int] = []
    kinds: list[LinkKind] = []
    labels: list[str] = []
    group_values: list[str] = []
    for i, ad in enumerate(ads):
        contacts = ad.contacts
        if not contacts:
            continue
        seen: set[int] = set()
        for contact in contacts:
            key = (id(contact.kind), contact.value)
            g = index.get(key)
            if g is None:
                g = len(index)
                index[key] = g
                kinds.append(_KIND_OF_CONTACT[contact.kind])
                labels.append(pseudonym(contact.kind.value, contact.value, pseudonym_key))
                group_values.append(contact.value)
            if g not in seen:
                seen.add(g)
                ad_rows.append(i)
                group_rows.append(g)
    values = dict(zip(labels, group_values, strict=True))
    return (
        _Group(
            ad=np.asarray(ad_rows, dtype=np.int64),
            group=np.asarray(group_rows, dtype=np.int64),
            kind=kinds,
            label=labels,
        ),
        values,
    )


def _photo_groups(
    ads: Sequence[NormalisedAd],
    photo_hashes: Mapping[str, Sequence[PhotoHash]],
    config: LinkConfig,
) -> _Group:
    """Photo clusters (connected near-duplicate hashes) and each ad's membership."""
    hex_index: dict[str, int] = {}
    ad_rows: list[int] = []
    hash_rows: list[int] = []
    for i, ad in enumerate(ads if photo_hashes else ()):
        for ph in photo_hashes.get(ad.record.id, ()):
            if ph.quality < config.photo_min_quality:
                continue
            h = hex_index.setdefault(ph.pdq.lower(), len(hex_index))
            ad_rows.append(i)
            hash_rows.append(h)
    hexes = sorted(hex_index, key=hex_index.__getitem__)
    pairs, _ = near_duplicate_photos(hexes, max_distance=config.photo_max_distance)
    labels_of_hash = components(len(hexes), pairs)
    ad_arr = np.asarray(ad_rows, dtype=np.int64)
    cluster = labels_of_hash[np.asarray(hash_rows, dtype=np.int64)] if hash_rows else ad_arr
    # Renumber clusters densely in order of first appearance (ads are sorted by id).
    uniq, first = np.unique(cluster, return_index=True)
    rank = np.empty(uniq.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(uniq.size)
    dense = rank[np.searchsorted(uniq, cluster)] if cluster.size else cluster
    keep = np.unique(np.stack((ad_arr, dense), axis=1), axis=0) if dense.size else None
    if keep is None:
        empty = np.zeros(0, dtype=np.int64)
        return _Group(ad=empty, group=empty, kind=[], label=[])
    n_groups = int(uniq.size)
    return _Group(
        ad=keep[:, 0],
        group=keep[:, 1],
        kind=[LinkKind.PHOTO] * n_groups,
        label=[f"photo:{g + 1}" for g in range(n_groups)],
    )


def _text_groups(
    ads: Sequence[NormalisedAd], names: Iterable[str], config: LinkConfig
) -> tuple[_Group, _Group, TextLinks]:
    """Same-persona text groups (every near-duplicate pair), network template groups (pairs of
    at least ``config.network_text_similarity``) and the pairs themselves."""
    # Reposts repeat title and text (and so the masked spans): each distinct pair is compared
    # once, and every copy is linked to the first ad with it.
    copy_of: dict[tuple[str, str], int] = {}
    first_ad: list[int] = []
    text_index = np.empty(len(ads), dtype=np.int64)
    texts: list[str] = []
    masks: list[list[tuple[int, int]]] = []
    places: set[str] = set(config.places) | set(_default_places())
    for i, ad in enumerate(ads):
        record = ad.record
        key = (record.title, record.text)
        k = copy_of.get(key)
        if k is None:
            k = copy_of[key] = len(texts)
            text, mask = _text_of(ad)
            texts.append(text)
            masks.append(mask)
            first_ad.append(i)
        text_index[i] = k
        if record.city:
            places.add(record.city)
        if ad.municipality:
            places.add(ad.municipality)
    by_text = text_links(texts, names=names, places=sorted(places), masks=masks, config=config.text)
    result = _ad_text_links(by_text, text_index, np.asarray(first_ad, dtype=np.int64))
    n = len(ads)
    strong = result.similarity >= max(config.network_text_similarity, config.text.threshold)
    return (
        _pair_groups(n, result.pairs, "text"),
        _pair_groups(n, result.pairs[strong], "template"),
        result,
    )


def _pair_groups(n: int, pairs: IntArray, prefix: str) -> _Group:
    """The connected components of text ``pairs`` over ``n`` ads as evidence groups, labelled
    ``{prefix}:1``, ``{prefix}:2``, ... in order of their smallest ad."""
    labels = components(n, pairs)
    in_pair = np.zeros(n, dtype=bool)
    if pairs.size:
        in_pair[pairs.ravel()] = True
    members = np.flatnonzero(in_pair)
    roots = labels[members]
    uniq = distinct(roots)
    dense = np.searchsorted(uniq, roots)
    return _Group(
        ad=members.astype(np.int64),
        group=dense.astype(np.int64),
        kind=[LinkKind.TEXT] * int(uniq.size),
        label=[f"{prefix}:{g + 1}" for g in range(int(uniq.size))],
    )


def _ad_text_links(by_text: TextLinks, text_index: IntArray, first_ad: IntArray) -> TextLinks:
    """Text links over ads from the links over their distinct texts (``text_index`` per ad, the
    first ad of each text): every later copy of a text is linked to its first ad (similarity 1),
    as ``text_links`` links identical texts."""
    n = text_index.size
    signature_of = by_text.signature_of[text_index]
    ads = np.arange(n, dtype=np.int64)
    copy = (first_ad[text_index] != ads) & (signature_of >= 0)
    copies = np.stack((first_ad[text_index[copy]], ads[copy]), axis=1)
    between = first_ad[by_text.pairs] if by_text.pairs.size else by_text.pairs.reshape(0, 2)
    pairs = np.concatenate((copies, between.astype(np.int64)))
    return TextLinks(
        pairs=np.sort(pairs, axis=1) if pairs.size else pairs.reshape(0, 2),
        similarity=np.concatenate((np.ones(copies.shape[0]), by_text.similarity)),
        usable=signature_of >= 0,
        signatures=by_text.signatures,
        signature_of=signature_of,
    )


def _persona_edges(
    groups: Sequence[_Group],
    name_id: IntArray,
    age: IntArray,
    t: npt.NDArray[np.float64],
    config: LinkConfig,
    names: Sequence[str],
) -> IntArray:
    """Same-persona edges: same group, the same name class, a compatible age, and a profile
    rare enough in this corpus that no unrelated woman of the group shares it by chance
    (``signaal.ads.profiles``)."""
    offset = 0
    all_ad: list[IntArray] = []
    all_group: list[IntArray] = []
    for grp in groups:
        all_ad.append(grp.ad)
        all_group.append(grp.group + offset)
        offset += len(grp.kind)
    if not all_ad:
        return np.zeros((0, 2), dtype=np.int64)
    ad = np.concatenate(all_ad)
    group = np.concatenate(all_group)
    named = name_id[ad] >= 0
    ad, group = ad[named], group[named]
    if ad.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    nm = name_id[ad]
    cls = _name_class(group, nm, names)
    ag = age[ad]
    order = np.lexsort((ad, ag, cls, group))
    ad, group, nm, cls, ag = ad[order], group[order], nm[order], cls[order], ag[order]

    # Per (group, name class): its frequency and the number of classes (women) of its group.
    gc_start = run_starts(group, cls)
    gc = np.cumsum(gc_start) - 1
    n_gc = int(gc[-1]) + 1
    by_name = np.lexsort((nm, gc))
    first_name = run_starts(gc[by_name], nm[by_name])
    pair_gc, pair_name = gc[by_name][first_name], nm[by_name][first_name]
    name_share = np.bincount(pair_name, minlength=len(names)) / max(pair_name.size, 1)
    class_share = np.bincount(pair_gc, weights=name_share[pair_name], minlength=n_gc)
    group_of_gc = group[gc_start]
    women = np.bincount(group_of_gc, minlength=offset)[group_of_gc]
    others = (women - 1).astype(np.float64) * class_share  # expected others of the class

    new_run = run_starts(group, cls, ag)
    starts = np.flatnonzero(new_run)
    rg, ra, first = gc[starts], ag[starts], ad[starts]
    profiles = ra >= 0
    age_share = np.bincount(ra[profiles], minlength=int(ag.max()) + 2) / max(profiles.sum(), 1)
    p_age = np.where(profiles, age_share[np.maximum(ra, 0)], 1.0)
    run_ok = collision_ok(others[rg] * p_age)
    run_of = np.cumsum(new_run) - 1
    inside = ~new_run[1:] & run_ok[run_of[1:]]
    pieces = [np.stack((ad[:-1][inside], ad[1:][inside]), axis=1)]
    # Age drift: adjacent runs of one (group, class) whose ages differ by at most the tolerance,
    # the younger advertised before the older (with some overlap allowed); either age counts.
    # (With a tolerance of 0 no two runs of one (group, class) drift: their ages differ.)
    if starts.size >= 2:
        tt = t[ad]
        tmin = np.minimum.reduceat(tt, starts)
        tmax = np.maximum.reduceat(tt, starts)
        drift = (
            (rg[1:] == rg[:-1])
            & (ra[:-1] >= 0)
            & (ra[1:] - ra[:-1] <= config.age_tolerance)
            & (tmax[:-1] <= tmin[1:] + config.age_overlap_days * _DAY)
            & collision_ok(others[rg[1:]] * (p_age[:-1] + p_age[1:]))
        )
        pieces.append(np.stack((first[:-1][drift], first[1:][drift]), axis=1))
        pieces.append(_ageless_edges(rg, ra, first, drift, run_ok))
    return np.concatenate(pieces)


def _name_class(group: IntArray, name: IntArray, names: Sequence[str]) -> IntArray:
    """Per membership, the class of its name among the names of its group (written variants of
    one name are one class, ``profiles.name_classes``), as the class's smallest name id."""
    order = np.lexsort((name, group))
    g, nm = group[order], name[order]
    first = run_starts(g, nm)
    classes, _, _ = name_classes(g[first], nm[first], names)
    out = np.empty_like(name)
    out[order] = classes[np.cumsum(first) - 1]
    return out


def _ageless_edges(
    rg: IntArray,
    ra: IntArray,
    first: IntArray,
    drift: npt.NDArray[np.bool_],
    run_ok: npt.NDArray[np.bool_],
) -> IntArray:
    """Edges joining the named ads without a stated age to the aged ads of their (group, name
    class).

    A missing age is unknown: it neither matches nor contradicts, so the name alone must carry
    the join (``run_ok`` of the ageless run: no unrelated woman of the group is expected to share
    the name). Runs are sorted by (group, class, age), so the ageless run (age -1) opens its
    segment. It joins when the aged runs of that segment form one persona (one age, or ages
    joined by drift, each itself joined); when they are several personas ("Chantal 24" and
    "Chantal 31" on one phone) the ageless ads stay apart rather than merge them.
    """
    segment_start = run_starts(rg)
    segment = np.cumsum(segment_start) - 1
    n_segments = int(segment[-1]) + 1
    aged = np.bincount(segment, weights=(ra >= 0), minlength=n_segments)
    refused = np.bincount(segment, weights=(ra >= 0) & ~run_ok, minlength=n_segments)
    joined = np.bincount(segment[:-1], weights=drift, minlength=n_segments)
    one_persona = (aged >= 1) & (joined == aged - 1) & (refused == 0)
    ageless = np.flatnonzero(segment_start & (ra < 0) & run_ok)
    ageless = ageless[(ageless + 1 < ra.size) & one_persona[segment[ageless]]]
    ageless = ageless[segment[np.minimum(ageless + 1, ra.size - 1)] == segment[ageless]]
    return np.stack((first[ageless], first[ageless + 1]), axis=1)


def _personas_per_group(grp: _Group, labels: IntArray) -> IntArray:
    """How many distinct personas (component labels) use each group."""
    count = np.zeros(len(grp.kind), dtype=np.int64)
    if grp.ad.size == 0:
        return count
    persona = labels[grp.ad]
    order = np.lexsort((persona, grp.group))
    group, persona = grp.group[order], persona[order]
    np.add.at(count, group[run_starts(group, persona)], 1)
    return count


def _without(grp: _Group, dropped: npt.NDArray[np.bool_]) -> _Group:
    """The memberships of ``grp`` outside the dropped groups (group numbers and labels kept)."""
    keep = ~dropped[grp.group]
    return _Group(ad=grp.ad[keep], group=grp.group[keep], kind=grp.kind, label=grp.label)


def _attach_unnamed(
    contacts: _Group, name_id: IntArray, age: IntArray, labels: IntArray
) -> IntArray:
    """Edges that attach unnamed ads to the only named persona of their contact point, or to each
    other by age when the contact point has no named persona; none when it has several."""
    if contacts.ad.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    ad, group = contacts.ad, contacts.group
    named = name_id[ad] >= 0
    # Distinct named personas per group.
    g_named = group[named]
    p_named = labels[ad[named]]
    pairs = np.unique(np.stack((g_named, p_named), axis=1), axis=0) if g_named.size else None
    n_groups = len(contacts.kind)
    count = np.zeros(n_groups, dtype=np.int64)
    only = np.full(n_groups, -1, dtype=np.int64)
    if pairs is not None:
        np.add.at(count, pairs[:, 0], 1)
        only[pairs[:, 0]] = pairs[:, 1]
    unnamed_ad = ad[~named]
    unnamed_group = group[~named]
    single = count[unnamed_group] == 1
    edges = [np.stack((unnamed_ad[single], only[unnamed_group[single]]), axis=1)]
    none = count[unnamed_group] == 0
    ua, ug = unnamed_ad[none], unnamed_group[none]
    ages = age[ua]
    order = np.lexsort((ua, ages, ug))
    ua, ug, ages = ua[order], ug[order], ages[order]
    edges.append(chain_edges(ua, run_starts(ug, ages)))
    return np.concatenate(edges)


def link(
    ads: Sequence[NormalisedAd],
    hits: Mapping[str, tuple[IndicatorHit, ...]],
    photo_hashes: Mapping[str, Sequence[PhotoHash]],
    *,
    pseudonym_key: str,
    config: LinkConfig | None = None,
) -> Linkage:
    """Link ads into personas and networks; every link keeps its kind and evidence.

    ``hits`` is accepted for engines that pass every stage the same inputs; linking does not
    depend on wording cues. ``photo_hashes`` maps ad ids to the hashes of their images.
    """
    return _link(ads, hits, photo_hashes, pseudonym_key=pseudonym_key, config=config)


def _link(
    ads: Sequence[NormalisedAd],
    hits: Mapping[str, tuple[IndicatorHit, ...]],
    photo_hashes: Mapping[str, Sequence[PhotoHash]],
    *,
    pseudonym_key: str,
    config: LinkConfig | None = None,
) -> Linkage:

    del hits
    cfg = config or LinkConfig()
    ordered = sorted(ads, key=_record_id)
    ids = [a.record.id for a in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("ad ids must be unique within one link run")
    n = len(ordered)
    if n == 0:
        return Linkage(links=(), persona_of_ad={}, network_of_persona={})

    # Profile columns.
    name_index: dict[str, int] = {}
    name_id = np.full(n, -1, dtype=np.int64)
    raw_names: set[str] = set()
    id_of_raw: dict[str | None, int] = {}
    for i, ad in enumerate(ordered):
        raw = ad.record.name
        found = id_of_raw.get(raw)
        if found is None:
            key = normalise_name(raw)
            found = -1 if key is None else name_index.setdefault(key, len(name_index))
            id_of_raw[raw] = found
            if raw:
                raw_names.add(raw)
        name_id[i] = found
    # An ad without a name field that introduces itself ("Ik ben Anna", "My name is Anna") with a
    # name other ads of the corpus advertise under is advertised under that name: the field is
    # missing, not the name.
    for i in np.flatnonzero(name_id < 0).tolist():
        record = ordered[i].record
        name_id[i] = _introduced_name(record.title, record.text, name_index)
    name_of = {v: k for k, v in name_index.items()}
    name_list = sorted(name_index, key=name_index.__getitem__)
    age = np.asarray([a.age if a.age is not None else -1 for a in ordered], dtype=np.int64)
    t = np.asarray([a.posted_at.timestamp() for a in ordered], dtype=np.float64)

    contacts, _ = _contact_groups(ordered, pseudonym_key)
    photos = _photo_groups(ordered, photo_hashes, cfg)
    texts, templates, text_result = _text_groups(ordered, raw_names, cfg)

    # 1. Personas. A contact point or photo flagged "too common to link" (used by more personas
    # than the limit) is no evidence at all: the personas are linked again without it, until no
    # further identifier becomes too common (splitting personas only raises the counts).
    evidence = (contacts, photos)
    limits = (cfg.max_personas_per_contact, cfg.max_personas_per_contact)
    dropped = [np.zeros(len(grp.kind), dtype=bool) for grp in evidence]
    usable: tuple[_Group, ...] = evidence
    for round_ in range(_MAX_COMMON_ROUNDS):
        edges = _persona_edges((*usable, texts), name_id, age, t, cfg, name_list)
        labels = components(n, edges)
        attach = _attach_unnamed(usable[0], name_id, age, labels)
        if attach.size:
            labels = components(n, np.concatenate((edges, attach)))
        newly = [
            (_personas_per_group(grp, labels) > limit) & ~gone
            for grp, limit, gone in zip(evidence, limits, dropped, strict=True)
        ]
        if round_ == _MAX_COMMON_ROUNDS - 1 or not any(flag.any() for flag in newly):
            break  # the personas were linked with exactly ``usable``
        dropped = [gone | flag for gone, flag in zip(dropped, newly, strict=True)]
        usable = tuple(_without(grp, gone) for grp, gone in zip(evidence, dropped, strict=True))
    persona_of = _ids_of(labels, ids, persona_id)

    # 2. Networks: contact points and templates shared by several personas.
    shared: list[SharedEvidence] = []
    net_edges: list[IntArray] = []
    cross_links: list[Link] = []
    group_sets: list[tuple[_Group, bool, int]] = [
        (contacts, True, cfg.max_personas_per_contact),
        (templates, True, cfg.max_personas_per_template),
        (photos, False, cfg.max_personas_per_contact),
    ]
    for grp, joins, limit in group_sets:
        if grp.ad.size == 0:
            continue
        pl = labels[grp.ad]
        # Distinct (group, persona, ad) rows in lexicographic order (as a row-wise np.unique,
        # which is much slower).
        by_row = np.lexsort((grp.ad, pl, grp.group))
        rows = np.stack((grp.group[by_row], pl[by_row], grp.ad[by_row]), axis=1)
        rows = rows[run_starts(rows[:, 0], rows[:, 1], rows[:, 2])]
        # First ad (smallest index = smallest id) of each persona in each group.
        first = run_starts(rows[:, 0], rows[:, 1])
        gp = rows[first]
        multi_start = run_starts(gp[:, 0])
        counts = np.diff(np.append(np.flatnonzero(multi_start), gp.shape[0]))
        group_of_start = gp[multi_start, 0]
        many = group_of_start[counts >= 2]
        if many.size == 0:
            continue
        sel = np.isin(gp[:, 0], many)
        gp = gp[sel]
        starts = np.flatnonzero(run_starts(gp[:, 0]))
        bounds = np.append(starts, gp.shape[0])
        for s, e in itertools.pairwise(bounds):
            g = int(gp[s, 0])
            member_ads = gp[s:e, 2]
            personas = [persona_of[int(a)] for a in member_ads]
            order = sorted(range(len(personas)), key=lambda k: personas[k])
            too_many = len(personas) > limit
            joins_here = joins and not too_many
            # The first user of the evidence: the persona whose first ad in the group is earliest.
            earliest = int(member_ads[np.argmin(t[member_ads])])
            shared.append(
                SharedEvidence(
                    kind=grp.kind[g],
                    key=grp.label[g],
                    personas=tuple(personas[k] for k in order),
                    ad_ids=tuple(ids[int(member_ads[k])] for k in order),
                    joins_network=joins_here,
                    first_persona=persona_of[earliest],
                )
            )
            if joins_here:
                net_edges.append(np.stack((member_ads[:-1], member_ads[1:]), axis=1))
            for a, b in itertools.pairwise(member_ads):
                ia, ib = ids[int(a)], ids[int(b)]
                note = "" if joins_here else (" (too common to link)" if too_many else "")
                cross_links.append(
                    Link(
                        ad_id_a=min(ia, ib),
                        ad_id_b=max(ia, ib),
                        kind=grp.kind[g],
                        evidence=f"{grp.label[g]} shared by {len(personas)} personas{note}",
                    )
                )
    all_net = (
        np.concatenate([edges, attach, *net_edges])
        if net_edges
        else np.concatenate((edges, attach))
    )
    net_labels = components(n, all_net)
    network_of_ad = _ids_of(net_labels, ids, network_id)

    network_of_persona: dict[str, str] = {}
    persona_of_ad: dict[str, str] = {}
    for i in range(n):
        persona_of_ad[ids[i]] = persona_of[i]
        network_of_persona.setdefault(persona_of[i], network_of_ad[i])

    shared_of: dict[str, list[SharedEvidence]] = {}
    reasons: dict[str, list[str]] = {}
    for ev in shared:
        for p in ev.personas:
            shared_of.setdefault(p, []).append(ev)
        net = network_of_persona[ev.personas[0]]
        what = {
            LinkKind.PHONE: "phone",
            LinkKind.EMAIL: "e-mail",
            LinkKind.HANDLE: "handle",
            LinkKind.PHOTO: "photo",
            LinkKind.TEXT: "text template",
        }.get(ev.kind, ev.kind.value)
        suffix = "" if ev.joins_network else " (recorded, not linked on its own)"
        reasons.setdefault(net, []).append(
            f"{what} {ev.key} shared by {len(ev.personas)} personas "
            f"(ads {', '.join(ev.ad_ids[:5])}{', …' if len(ev.ad_ids) > 5 else ''}){suffix}"
        )

    links = _persona_links(ids, labels, name_of, name_id, age, (*usable, texts), text_result)
    links.extend(cross_links)
    # The order is deterministic by construction (ads sorted by id, stable numpy orderings).
    return Linkage(
        links=tuple(links),
        persona_of_ad=persona_of_ad,
        network_of_persona=network_of_persona,
        network_reasons={k: tuple(v) for k, v in sorted(reasons.items())},
        shared={k: tuple(v) for k, v in sorted(shared_of.items())},
    )


def _persona_links(
    ids: Sequence[str],
    labels: IntArray,
    name_of: Mapping[int, str],
    name_id: IntArray,
    age: IntArray,
    groups: Sequence[_Group],
    text_result: TextLinks,
) -> list[Link]:
    """Same-persona links: within each persona, a chain through its ads in each contact point,
    photo cluster and text template; each link says which name, age and identifier joined them
    (for texts the estimated Jaccard similarity)."""
    out: list[Link] = []
    names: list[int] = name_id.tolist()
    ages: list[int] = age.tolist()
    n = labels.size
    joined = np.zeros((0, 2), dtype=np.int64)  # edges emitted so far
    for grp in groups:
        if grp.ad.size == 0:
            continue
        pl = labels[grp.ad]
        order = np.lexsort((grp.ad, pl, grp.group))
        ad, group, pers = grp.ad[order], grp.group[order], pl[order]
        new_run = run_starts(group, pers)
        edges = chain_edges(ad, new_run)
        if edges.size == 0:
            continue
        grp_of_edge = group[1:][~new_run[1:]]
        if joined.size:
            # Only edges that join ads not yet joined by earlier groups: a spanning forest per
            # persona, contact points first, then photos, then texts.
            sofar = components(n, joined)
            new = sofar[edges[:, 0]] != sofar[edges[:, 1]]
            edges, grp_of_edge = edges[new], grp_of_edge[new]
        joined = np.concatenate((joined, edges))
        if edges.size == 0:
            continue
        is_text = bool(grp.kind) and grp.kind[0] is LinkKind.TEXT
        sims = (
            text_result.similarity_of(edges[:, 0], edges[:, 1]).tolist()
            if is_text
            else [0.0] * edges.shape[0]
        )
        glabels = grp.label
        kind_of = [
            LinkKind.TEXT
            if k is LinkKind.TEXT
            else LinkKind.PHOTO
            if k is LinkKind.PHOTO
            else LinkKind.NAME
            for k in grp.kind
        ]
        # The evidence text is the same along one persona's chain in one group: build it once.
        profile: dict[tuple[int, int, int, int, int], str] = {}
        # Ads are indexed in order of their (unique) id: the smaller index has the smaller id.
        lo_ids = [ids[k] for k in np.minimum(edges[:, 0], edges[:, 1]).tolist()]
        hi_ids = [ids[k] for k in np.maximum(edges[:, 0], edges[:, 1]).tolist()]
        for (a, b), g, sim, id_lo, id_hi in zip(
            edges.tolist(), grp_of_edge.tolist(), sims, lo_ids, hi_ids, strict=True
        ):
            nm = names[a] if names[a] >= 0 else names[b]
            other = names[b] if names[a] >= 0 and names[b] >= 0 else nm
            key = (g, nm, other, ages[a], ages[b])
            text = profile.get(key)
            if text is None:
                name = name_of.get(nm, "?") if nm >= 0 else "no name"
                if other != nm:  # written variants of one name ("sophie/soph")
                    name = "/".join(sorted({name, name_of.get(other, "?")}))
                if ages[a] == ages[b]:
                    age_text = str(ages[a]) if ages[a] >= 0 else "?"
                else:
                    age_text = "/".join(str(x) for x in sorted({ages[a], ages[b]} - {-1})) or "?"
                text = f"same persona: name {name}, age {age_text}, {glabels[g]}"
                profile[key] = text
            out.append(
                Link(
                    id_lo,
                    id_hi,
                    kind_of[g],
                    f"{text}, text jaccard {sim:.2f}" if is_text else text,
                )
            )
    return out
