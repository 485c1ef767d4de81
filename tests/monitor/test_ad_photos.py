"""The photos of stored ads: per photo the photo stage hashed, its PDQ hash, its cluster of
near-duplicates in the run and a thumbnail (JPEG, at most 240 pixels, no metadata) encrypted at
rest; a corrupt, refused or vanished image never stops a run from being stored; the photos go
with their run when it is purged. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ads.adfactories import record_json
from signaal.ads.outputs import build_tables
from signaal.ads.photos import PhotoLimits
from signaal.ads.pipeline import AnalysisResult, PipelineConfig, run_file
from signaal.chain.authz import SYSTEM
from signaal.errors import RecordError
from signaal.monitor.runs import ad_photo_rows, store_run, stored_ad_rows
from signaal.settings import Settings, load_settings
from signaal.store import analysis
from signaal.store.models import AnalysisAd, AnalysisAdPhoto, Organisation, OrganisationKind
from signaal.synth.photos import original

KEY = "test-key"
LIMITS = PhotoLimits(max_pixels=500_000)
CAMERA = "SecretCam-4711"


def _photos(folder: Path) -> None:
    """Synthetic photos (gradients and shapes from the generator, never real photos): Anna's
    with EXIF, the same picture re-encoded for Bea's ad, Cleo's own, a corrupt file and one with
    more pixels than the limit."""
    anna = original(7, "anna", 0, (320, 400))
    exif = Image.Exif()
    exif[0x010F] = CAMERA  # Make
    exif[0x0110] = "Model-X"  # Model
    anna.save(folder / "anna.jpg", quality=90, exif=exif.tobytes())
    anna.resize((300, 375)).save(folder / "bea.jpg", quality=70)
    original(7, "cleo", 0, (256, 320)).save(folder / "cleo.jpg", quality=85)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg " * 20)
    Image.new("RGB", (1000, 600), (200, 120, 90)).save(folder / "huge.png")


def _records() -> list[dict[str, object]]:
    return [
        record_json(id="t:anna", images=["anna.jpg", "corrupt.jpg"]),
        record_json(
            id="t:bea",
            name="Bea",
            title="Bea",
            text="Hoi, ik ben Bea.",
            phones=["06-90000002"],
            images=["bea.jpg"],
        ),
        record_json(
            id="t:cleo",
            name="Cleo",
            title="Cleo",
            text="Hoi, ik ben Cleo.",
            phones=["06-90000003"],
            city="Ede",
            images=["cleo.jpg", "huge.png"],
        ),
    ]


def _analyse(folder: Path) -> AnalysisResult:
    _photos(folder)
    path = folder / "ads.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in _records()), encoding="utf-8")
    return run_file(path, PipelineConfig(pseudonym_key=KEY, photo_limits=LIMITS))


def _organisation(session: Session) -> int:
    organisation = Organisation(name="Foto-test", kind=OrganisationKind.POLICE)
    session.add(organisation)
    session.flush()
    return organisation.id


def _store(
    session: Session, settings: Settings, result: AnalysisResult, photos: list[dict[str, object]]
) -> int:
    tables = build_tables(result, pseudonym_key=KEY)
    now = datetime.now(UTC)
    run_id = store_run(
        session,
        organisation_id=_organisation(session),
        source="photos.jsonl",
        started_at=now,
        finished_at=now,
        ads=stored_ad_rows(result, tables.ads, KEY),
        tables=tables,
        n_quarantined=len(result.quarantined),
        contact_points={},
        settings=settings,
        now=now,
        actor=SYSTEM,
        photos=photos,
    )
    session.commit()
    return run_id


def _persona(result: AnalysisResult, ad_id: str) -> str:
    return result.linkage.persona_of_ad[ad_id]


def test_photos_are_stored_with_clusters_and_encrypted_thumbnails_without_metadata(
    db_session: Session, settings: Settings, tmp_path: Path
) -> None:
    result = _analyse(tmp_path)
    # The corrupt and the oversized image were refused by the photo stage; their ads stay.
    reasons = " ".join(q.reason for q in result.quarantined)
    assert "corrupt.jpg" in reasons
    assert "huge.png" in reasons
    rows = ad_photo_rows(result, base_dir=tmp_path, limits=LIMITS)
    assert [(r["ad_id"], r["position"]) for r in rows] == [
        ("t:anna", 0),
        ("t:bea", 0),
        ("t:cleo", 0),
    ]
    run_id = _store(db_session, settings, result, rows)
    assert db_session.scalar(select(func.count()).select_from(AnalysisAd)) == 3
    stored = {p.ad_id: p for p in db_session.scalars(select(AnalysisAdPhoto))}
    assert stored["t:anna"].cluster == stored["t:bea"].cluster != stored["t:cleo"].cluster
    for photo in stored.values():
        assert photo.thumbnail is not None
        image = Image.open(io.BytesIO(photo.thumbnail))
        assert image.format == "JPEG"
        assert max(image.size) <= 240
        assert not image.getexif()
        assert "exif" not in image.info
        assert CAMERA.encode() not in photo.thumbnail
    # At rest the thumbnail is sealed with the data key: no JPEG in the database.
    raw = db_session.execute(text("SELECT thumbnail FROM analysis_ad_photos")).scalars().all()
    assert all(value.startswith("e1.") for value in raw)
    # Where else each photo appears: Bea's ad has Anna's picture.
    anna, bea, cleo = (_persona(result, f"t:{n}") for n in ("anna", "bea", "cleo"))
    assert len({anna, bea, cleo}) == 3
    shown = analysis.persona_photos(db_session, run_id, anna)
    assert [(p.number, p.ad_id, p.has_thumbnail, p.elsewhere) for p in shown] == [
        (1, "t:anna", True, (bea,))
    ]
    assert analysis.persona_photos(db_session, run_id, cleo)[0].elsewhere == ()
    thumb = analysis.persona_photo_thumbnail(db_session, run_id, anna, 1)
    assert thumb == stored["t:anna"].thumbnail
    assert analysis.persona_photo_thumbnail(db_session, run_id, anna, 2) is None
    assert analysis.persona_photo_thumbnail(db_session, run_id, "P-nobody", 1) is None


def test_a_photo_whose_thumbnail_cannot_be_made_is_stored_without_one(
    db_session: Session, settings: Settings, tmp_path: Path
) -> None:
    result = _analyse(tmp_path)
    (tmp_path / "cleo.jpg").write_bytes(b"gone bad after hashing")  # changed since the stage
    (tmp_path / "bea.jpg").unlink()
    rows = ad_photo_rows(result, base_dir=tmp_path, limits=LIMITS)
    run_id = _store(db_session, settings, result, rows)
    stored = {p.ad_id: p for p in db_session.scalars(select(AnalysisAdPhoto))}
    assert stored["t:anna"].thumbnail is not None
    assert stored["t:bea"].thumbnail is None
    assert stored["t:cleo"].thumbnail is None
    cleo = _persona(result, "t:cleo")
    assert [p.has_thumbnail for p in analysis.persona_photos(db_session, run_id, cleo)] == [False]
    assert analysis.persona_photo_thumbnail(db_session, run_id, cleo, 1) is None


def test_bad_photo_rows_are_refused_before_anything_is_stored(
    db_session: Session, settings: Settings, tmp_path: Path
) -> None:
    result = _analyse(tmp_path)
    rows = ad_photo_rows(result, base_dir=tmp_path, limits=LIMITS)
    for bad, field in (
        ({**rows[0], "ad_id": "t:unknown"}, "ad_id"),
        ({**rows[0], "pdq": "12ab"}, "pdq"),
        ({**rows[0], "thumbnail": b"GIF89a..."}, "thumbnail"),
    ):
        with pytest.raises(RecordError, match=field):
            _store(db_session, settings, result, [bad])
        db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(AnalysisAdPhoto)) == 0


def test_the_photos_go_with_their_run_when_it_is_purged(
    db_session: Session, tmp_path: Path
) -> None:
    result = _analyse(tmp_path)
    rows = ad_photo_rows(result, base_dir=tmp_path, limits=LIMITS)
    short = load_settings(env="development", analysis_retention_days=1, data_dir=tmp_path / "d")
    run_id = _store(db_session, short, result, rows)
    assert db_session.scalar(select(func.count()).select_from(AnalysisAdPhoto)) == 3
    later = datetime.now(UTC) + timedelta(days=2)
    assert analysis.purge_expired(db_session, actor=SYSTEM, now=later) == [run_id]
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(AnalysisAdPhoto)) == 0
