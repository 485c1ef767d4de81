"""The persona page's photos: thumbnails through the guarded route (no cache, no sniffing, the
right type), alt texts that name the ad, and for each photo the other personas of the run with
the same picture, linked; another organisation's persona gets nothing."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import func, select
from typer.testing import CliRunner

from signaal.cli import app as cli
from signaal.settings import get_settings
from signaal.store import analysis
from signaal.store.db import transaction
from signaal.store.models import AnalysisAdPhoto, AnalysisPersona, AnalysisRun

from .conftest import (
    TEST_CONTACT_KEY,
    TEST_DATA_KEY,
    TEST_PSEUDONYM_KEY,
    analysis_rows,
    store_analysis,
    synthetic_thumbnail,
)

PAGE = "/analyse/personas/P-1?doel=prepare_outreach"
SAME = "ab" * 32


def _rows() -> dict[str, list[dict[str, object]]]:
    """Persona P-1 (ads A-1, A-2) and persona P-9 (ad A-9) in another network, whose ad has
    P-1's first photo; A-2's photo has no thumbnail."""
    rows = analysis_rows()
    rows["networks"].append(dict(rows["networks"][0], network_id="N-9"))
    rows["personas"].append(dict(rows["personas"][0], persona_id="P-9", network_id="N-9", n_ads=1))
    rows["ads"].append(dict(rows["ads"][0], ad_id="A-9", persona_id="P-9", network_id="N-9"))
    photo = {"position": 0, "quality": 90, "thumbnail": synthetic_thumbnail()}
    rows["photos"] = [
        {**photo, "ad_id": "A-1", "pdq": SAME, "cluster": 3},
        {**photo, "ad_id": "A-2", "pdq": "cd" * 32, "cluster": 4, "thumbnail": None},
        {**photo, "ad_id": "A-9", "pdq": SAME[:-1] + "c", "cluster": 3},
    ]
    return rows


def _store(state, organisation_id: int) -> None:  # type: ignore[no-untyped-def]
    with transaction(state.sessions) as session:
        store_analysis(session, state.settings, organisation_id, _rows())


def test_the_page_shows_the_thumbnails_and_where_else_each_photo_appears(
    client, state, accounts_by_role, sign_in
) -> None:  # type: ignore[no-untyped-def]
    _store(state, accounts_by_role["outreach_worker"].organisation_id)
    sign_in(accounts_by_role["outreach_worker"])
    page = client.get(PAGE)
    assert page.status_code == 200
    section = page.text.split('id="titel-fotos"')[1].split("</section>")[0]
    # Ads newest first: A-1 is ad 1 on the page, A-2 ad 2.
    assert '<img src="/analyse/personas/P-1/fotos/1" alt="Foto 1 van advertentie 1"' in section
    assert "/fotos/2" not in section  # A-2's photo has no thumbnail, and says so
    assert "Van foto 1 van advertentie 2 kon geen kopie worden gemaakt." in section
    first = section.split('class="photo"')[1]
    assert '<a href="/analyse/personas/P-9">P-9</a>' in first
    assert '<a href="#ad-1">' in first
    second = section.split('class="photo"')[2]
    assert "/analyse/personas/P-9" not in second
    assert " style=" not in page.text


def test_the_thumbnail_is_a_jpeg_never_cached_nor_sniffed(
    client, state, accounts_by_role, sign_in
) -> None:  # type: ignore[no-untyped-def]
    _store(state, accounts_by_role["outreach_worker"].organisation_id)
    sign_in(accounts_by_role["outreach_worker"])
    answer = client.get("/analyse/personas/P-1/fotos/1")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "private, no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert Image.open(io.BytesIO(answer.content)).format == "JPEG"
    for missing in ("/analyse/personas/P-1/fotos/2", "/analyse/personas/P-1/fotos/3"):
        assert client.get(missing).status_code == 404  # no thumbnail; no such photo
    assert client.get("/analyse/personas/P-1/fotos/0").status_code in (404, 422)
    assert client.get("/analyse/personas/P-1/fotos/x").status_code in (404, 422)


def test_another_organisations_photo_is_refused_like_a_missing_persona(
    client, state, accounts_by_role, sign_in
) -> None:  # type: ignore[no-untyped-def]
    police = accounts_by_role["police_officer"]
    outreach = accounts_by_role["outreach_worker"]
    assert police.organisation_id != outreach.organisation_id
    _store(state, police.organisation_id)
    sign_in(outreach)
    other = client.get("/analyse/personas/P-1/fotos/1")
    nowhere = client.get("/analyse/personas/P-404/fotos/1")
    assert other.status_code == nowhere.status_code
    assert other.status_code in (403, 404)
    assert other.headers["content-type"] != "image/jpeg"


runner = CliRunner()


def test_a_synthetic_corpus_with_photos_stored_by_the_command_line_shows_them(
    client, state, accounts_by_role, sign_in, web_settings, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """``signaal synth --photos`` then ``signaal analyse --store``: the persona page of a persona
    whose photo is also in another persona's ads shows the thumbnail and links that persona."""
    for name, value in (
        ("SIGNAAL_DATABASE_URL", web_settings.database_url),
        ("SIGNAAL_ENV", "development"),
        ("SIGNAAL_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY),
        ("SIGNAAL_CONTACT_KEY", TEST_CONTACT_KEY),
        ("SIGNAAL_DATA_KEY", TEST_DATA_KEY),
    ):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        made = runner.invoke(
            cli, ["synth", "--ads", "300", "--seed", "5", "--photos", "--out", str(tmp_path)]
        )
        assert made.exit_code == 0, made.output
        stored = runner.invoke(
            cli,
            [
                "analyse",
                str(tmp_path / "ads.jsonl"),
                "--out",
                str(tmp_path / "out"),
                "--quiet",
                "--store",
                "--organisation",
                "Test GGD",
            ],
        )
        assert stored.exit_code in (0, 3), stored.output  # 3: some records quarantined
    finally:
        get_settings.cache_clear()
    with state.sessions() as session:
        run = session.scalar(select(AnalysisRun).order_by(AnalysisRun.id.desc()).limit(1))
        assert run is not None
        assert session.scalar(select(func.count()).select_from(AnalysisAdPhoto)) > 0
        personas = session.scalars(
            select(AnalysisPersona.persona_id).where(AnalysisPersona.run_id == run.id)
        ).all()
        shared = next(
            (
                (persona, photo)
                for persona in sorted(personas)
                for photo in analysis.persona_photos(session, run.id, persona)
                if photo.elsewhere and photo.has_thumbnail
            ),
            None,
        )
    assert shared is not None, "the corpus has a photo in ads of two personas"
    persona, photo = shared
    sign_in(accounts_by_role["outreach_worker"])
    html = client.get(f"/analyse/personas/{persona}?doel=assess_signal").text
    section = html.split('id="titel-fotos"')[1].split("</section>")[0]
    assert f'src="/analyse/personas/{persona}/fotos/{photo.number}"' in section
    assert f'<a href="/analyse/personas/{photo.elsewhere[0]}">' in section
    image = client.get(f"/analyse/personas/{persona}/fotos/{photo.number}")
    assert image.headers["content-type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(image.content)).getexif()
