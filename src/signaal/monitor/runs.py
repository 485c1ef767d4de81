"""Storing one analysis run for an organisation, with everything that comes with it.

``signaal analyse --store`` and ``signaal ingest`` both end here: the run's rows
(:func:`signaal.store.analysis.save_analysis`), its contact points sealed with the contact key,
the merges and splits against the previous run, the photos of its ads (hash, cluster and an
encrypted thumbnail, :func:`ad_photo_rows`), and the checks of the protective watches and of the
users' watchlists, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from signaal.chain.authz import Actor
from signaal.settings import Settings

if TYPE_CHECKING:
    from signaal.ads.lineage import LineageEvent
    from signaal.ads.link import LinkConfig
    from signaal.ads.outputs import Tables
    from signaal.ads.photos import PhotoLimits
    from signaal.ads.pipeline import AnalysisResult


def stored_ad_rows(
    result: AnalysisResult, ad_rows: Sequence[Mapping[str, object]], pseudonym_key: str
) -> list[dict[str, object]]:
    """The ``ads.csv`` rows with what a reviewer reads in the app: when, where, which site, and
    the title and text with every occurrence of every contact point found in them (also a number
    written twice, or once plainly and once disguised) replaced by its pseudonym."""
    from signaal.ads.masking import contact_spans
    from signaal.ads.types import ContactPoint
    from signaal.privacy.pseudonyms import pseudonym
    from signaal.privacy.redaction import redact_spans

    def marker(contact: ContactPoint) -> str:
        return f"[{pseudonym(contact.kind.value, contact.value, pseudonym_key)}]"

    rows: list[dict[str, object]] = []
    for ad, row in zip(result.ads, ad_rows, strict=True):
        title, text = ad.record.title, ad.record.text
        rows.append(
            {
                **row,
                "posted_at": ad.posted_at,
                "site": redact_spans(ad.record.site, contact_spans(ad.record.site, "site", marker)),
                "municipality": ad.municipality,
                "title": redact_spans(title, contact_spans(title, "title", marker)),
                "text": redact_spans(text, contact_spans(text, "text", marker)),
            }
        )
    return rows


def ad_photo_rows(
    result: AnalysisResult,
    *,
    base_dir: Path,
    limits: PhotoLimits | None = None,
    link: LinkConfig | None = None,
    workers: int = 1,
) -> list[dict[str, object]]:
    """The ``photos`` of :func:`signaal.store.analysis.save_analysis`: every photo the photo
    stage hashed (``result.photo_hashes``), numbered in its ad (``position``), with its cluster
    of near-duplicates in the run (the link stage's distance and quality, ``link``) and a
    thumbnail made from the same file inside ``base_dir`` within the same ``limits``. A photo
    whose thumbnail cannot be made is kept without one; its ad is stored either way."""
    from signaal.ads.link import LinkConfig
    from signaal.ads.photos import DEFAULT_LIMITS, make_thumbnails, photo_clusters

    link = link or LinkConfig()
    root = base_dir.absolute()
    rows: list[dict[str, object]] = []
    files: list[Path] = []
    for ad in result.ads:
        for position, photo in enumerate(result.photo_hashes.get(ad.id, ())):
            written = Path(photo.path)
            files.append(written if written.is_absolute() else root / written)
            rows.append(
                {"ad_id": ad.id, "position": position, "pdq": photo.pdq, "quality": photo.quality}
            )
    if not rows:
        return []
    thumbnails = make_thumbnails(files, root=root, limits=limits or DEFAULT_LIMITS, workers=workers)
    clusters = photo_clusters(
        [str(row["pdq"]) for row in rows],
        [int(str(row["quality"])) for row in rows],
        max_distance=link.photo_max_distance,
        min_quality=link.photo_min_quality,
    )
    for row, path, cluster in zip(rows, files, clusters, strict=True):
        row["cluster"] = cluster
        row["thumbnail"] = thumbnails.get(path)
    return rows


def store_run(
    session: Session,
    *,
    organisation_id: int,
    source: str,
    started_at: datetime,
    finished_at: datetime,
    ads: Sequence[Mapping[str, object]],
    tables: Tables,
    n_quarantined: int,
    contact_points: Mapping[str, str],
    settings: Settings,
    now: datetime,
    actor: Actor,
    lineage: Sequence[LineageEvent] = (),
    previous_run_id: int | None = None,
    photos: Sequence[Mapping[str, object]] = (),
) -> int:
    """Store one run of ``organisation_id`` and do what follows from it; returns the run id.

    ``contact_points`` (pseudonym -> clear value) are sealed with the contact key for the roles
    that may reveal one on screen. The run is compared with the protective watches
    (:func:`signaal.chain.watches.check_run`), which notifies the watching organisations, and
    with the organisation's watchlists (:func:`signaal.monitor.watchlists.check_run`), which
    writes the alerts of its users (the mails are the worker's). ``lineage``: the merges and
    splits against run ``previous_run_id``. ``photos``: the rows of :func:`ad_photo_rows`.
    """
    from signaal.chain import watches
    from signaal.monitor import watchlists
    from signaal.privacy.sealing import Sealer
    from signaal.store import analysis
    from signaal.store.contacts import save_contact_points
    from signaal.store.ingested import save_lineage

    run_id = analysis.save_analysis(
        session,
        source=source,
        started_at=started_at,
        finished_at=finished_at,
        ads=ads,
        personas=tables.personas,
        networks=tables.networks,
        movements=tables.movements,
        n_quarantined=n_quarantined,
        organisation_id=organisation_id,
        actor=actor,
        settings=settings,
        photos=photos,
    )
    save_contact_points(session, run_id, contact_points, Sealer(settings.contact_key))
    if lineage:
        save_lineage(session, run_id, previous_run_id, lineage)
    watches.check_run(session, run_id, pseudonym_key=settings.pseudonym_key, now=now, actor=actor)
    watchlists.check_run(session, run_id, now=now, actor=actor)
    return run_id
