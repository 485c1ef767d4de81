""" "Mijn gemeente" on a small stored run with known answers (SQLite and PostgreSQL), place
resolution, organisation boundaries and CSV escaping."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from signaal import geo
from signaal.chain import accounts
from signaal.chain.authz import SYSTEM, Actor
from signaal.errors import PermissionDenied
from signaal.geo.areas import areas, close_matches, outlines, resolve_area
from signaal.monitor import local_picture as lp
from signaal.store.analysis import save_analysis
from signaal.store.models import AnalysisRun, OrganisationKind

from .local_rows import HAGUE, NOW, local_rows


def _store(session: Session, organisation_id: int, tag: str = "") -> AnalysisRun:
    run_id = save_analysis(
        session,
        source="local-picture-test",
        started_at=NOW - timedelta(minutes=5),
        finished_at=NOW - timedelta(minutes=1),
        n_quarantined=0,
        organisation_id=organisation_id,
        actor=SYSTEM,
        **local_rows(tag),  # type: ignore[arg-type]
    )
    run = session.get(AnalysisRun, run_id)
    assert run is not None
    return run


def _actor(organisation_id: int, role: str = "policy_officer") -> Actor:
    return Actor(
        user_id=1,
        email="beleid@example.test",
        organisation_id=organisation_id,
        organisation_kind=OrganisationKind.MUNICIPALITY,
        role=role,
        is_demo=False,
    )


@pytest.fixture
def stored(db_session: Session) -> tuple[int, AnalysisRun]:
    organisation = accounts.create_organisation(
        db_session, name="Gemeente Test", kind=OrganisationKind.MUNICIPALITY
    )
    return organisation.id, _store(db_session, organisation.id)


def test_weeks_shares_and_arrivals_of_a_municipality(
    db_session: Session, stored: tuple[int, AnalysisRun]
) -> None:
    organisation_id, run = stored
    area = resolve_area("Den Haag")
    assert area is not None
    picture = lp.local_picture(db_session, _actor(organisation_id), run, area, now=NOW)
    assert [w.label for w in picture.weeks] == ["2026-W46", "2026-W47", "2026-W48"]
    assert [w.ads for w in picture.weeks] == [1, 0, 6]
    # One persona in W46 is a small count: withheld; six in W48 are shown.
    assert [w.personas for w in picture.weeks] == [None, 0, 6]
    assert picture.weeks[2].ads_indicator_share == pytest.approx(2 / 6)
    assert picture.weeks[2].personas_indicator_share is None  # 2 of 6: a small count
    assert picture.weeks[0].ads_indicator_share == 1.0
    assert picture.total.ads == 7
    assert picture.personas == 6
    assert picture.personas_with_indicators is None  # P1, P2, P3: three
    assert picture.indicators == [("A05", 3), ("B02", 1)]
    # P2..P6 arrived this week; P1 came back but was advertised here before.
    assert picture.this_week is not None
    assert picture.this_week.label == "2026-W48"
    assert picture.arrivals == 5


def test_a_region_counts_personas_once_and_the_whole_country_counts_everything(
    db_session: Session, stored: tuple[int, AnalysisRun]
) -> None:
    organisation_id, run = stored
    randstad = lp.Area("province", "test", (HAGUE, "Utrecht"))
    picture = lp.local_picture(db_session, _actor(organisation_id), run, randstad, now=NOW)
    assert picture.total.ads == 9
    assert picture.total.personas == 7  # P1 in both counts once
    # W47: P1 and P7 in Utrecht; P1 moved out of the area and back in: not an arrival.
    assert [w.ads for w in picture.weeks] == [1, 2, 6]
    assert picture.arrivals == 5


def test_this_week_is_the_runs_newest_week_for_an_older_run(
    db_session: Session, stored: tuple[int, AnalysisRun]
) -> None:
    organisation_id, run = stored
    area = resolve_area("Utrecht")
    assert area is not None
    later = NOW + timedelta(days=90)
    picture = lp.local_picture(db_session, _actor(organisation_id), run, area, now=later)
    assert picture.weeks[-1].label == "2026-W48"  # not 2027's weeks: the run ends there
    assert [w.ads for w in picture.weeks] == [2, 0]  # W47, then an empty W48
    assert picture.arrivals == 0


def test_comparison_with_municipalities_of_similar_population(
    db_session: Session, stored: tuple[int, AnalysisRun]
) -> None:
    organisation_id, run = stored
    area = resolve_area("Den Haag")
    assert area is not None
    picture = lp.local_picture(db_session, _actor(organisation_id), run, area, now=NOW)
    first, *others = picture.comparison
    population = geo.municipality(HAGUE).population
    assert first.selected
    assert first.name == HAGUE
    assert first.ads == 7
    assert first.ads_per_10k == pytest.approx(7 * 10_000 / population)
    assert len(others) == lp.SIMILAR
    names = {row.name for row in others}
    assert {"Amsterdam", "Rotterdam", "Utrecht"} <= names
    amsterdam = next(row for row in others if row.name == "Amsterdam")
    assert amsterdam.ads == 1
    assert amsterdam.indicator_share == 1.0
    # Others sorted by ads per 10,000, highest first.
    rates = [row.ads_per_10k or 0 for row in others]
    assert rates == sorted(rates, reverse=True)


def test_the_map_colours_every_outline_and_marks_the_selection(
    db_session: Session, stored: tuple[int, AnalysisRun]
) -> None:
    organisation_id, run = stored
    area = resolve_area("politie Den Haag")
    assert area is not None
    assert area.kind == "police_unit"
    picture = lp.local_picture(
        db_session, _actor(organisation_id), run, area, measure="ads", now=NOW
    )
    assert len(picture.map) == len(outlines()) == 342
    by_name = {m.name: m for m in picture.map}
    assert by_name[HAGUE].value == 7
    assert by_name[HAGUE].selected
    assert by_name["Utrecht"].value == 2
    assert not by_name["Utrecht"].selected
    assert by_name["Groningen"].band == 0
    assert by_name[HAGUE].band == len(picture.bands)  # the highest class
    assert picture.comparison[0].name == "Den Haag"  # police units compared with each other
    assert len(picture.comparison) == len(areas("police_unit")) == 10


def test_another_organisations_run_is_refused(
    db_session: Session, stored: tuple[int, AnalysisRun]
) -> None:
    _, run = stored
    other = accounts.create_organisation(
        db_session, name="Gemeente Ander", kind=OrganisationKind.MUNICIPALITY
    )
    area = resolve_area("Den Haag")
    assert area is not None
    with pytest.raises(PermissionDenied):
        lp.local_picture(db_session, _actor(other.id), run, area, now=NOW)
    # A role without local.picture is refused on the own run as well.
    with pytest.raises(PermissionDenied):
        lp.local_picture(db_session, _actor(run.organisation_id, "viewer"), run, area, now=NOW)


# --- place resolution (pure) -------------------------------------------------------------------


def test_den_haag_a_village_and_regions_resolve() -> None:
    hague = resolve_area("Den Haag")
    assert hague is not None
    assert (hague.kind, hague.municipalities) == ("municipality", (HAGUE,))
    village = resolve_area("Scheveningen")
    assert village is not None
    assert village.municipalities == (HAGUE,)
    grou = resolve_area("Grou")  # a village of Leeuwarden
    assert grou is not None
    assert grou.name == "Leeuwarden"
    unit = resolve_area("Den Haag", "police_unit")
    assert unit is not None
    assert unit.kind == "police_unit"
    assert HAGUE in unit.municipalities
    assert "Delft" in unit.municipalities
    assert "Rotterdam" not in unit.municipalities
    vr = resolve_area("Veiligheidsregio Haaglanden")
    assert vr is not None
    assert vr.kind == "safety_region"
    assert "Rotterdam" not in vr.municipalities
    ggd = resolve_area("GGD Haaglanden")
    assert ggd is not None
    assert ggd.kind == "ggd_region"
    assert ggd.municipalities == vr.municipalities
    province = resolve_area("Zeeland", "province")
    assert province is not None
    assert "Middelburg" in province.municipalities
    assert len(province.municipalities) == 13


def test_every_municipality_lies_in_one_region_of_each_kind() -> None:
    for kind in ("province", "police_unit", "safety_region", "ggd_region"):
        members = [name for a in areas(kind) for name in a.municipalities]  # type: ignore[arg-type]
        assert sorted(members) == sorted(o.name for o in outlines())
    assert len(areas("province")) == 12
    assert len(areas("safety_region")) == 25


def test_an_unknown_name_gets_close_matches() -> None:
    assert resolve_area("Amsterdm") is None
    assert "Amsterdam" in close_matches("Amsterdm")
    assert resolve_area("Xyzzy") is None
    assert close_matches("") == []


# --- CSV ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("hostile", ['=HYPERLINK("x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(hostile: str) -> None:
    text = lp.csv_text(["area"], [[hostile], ['a "quoted", text']])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["'" + hostile]
    assert rows[2] == ['a "quoted", text']
    assert text.endswith("\r\n")


def test_csv_numbers_stay_numbers() -> None:
    assert lp.csv_cell(-3) == "-3"
    assert lp.csv_cell(0.25) == "0.25"
    assert lp.csv_cell(None) == ""
    assert lp.csv_cell(True) == "1"


def test_bands_and_small_counts() -> None:
    assert lp.withheld(0) == 0
    assert lp.withheld(4) is None
    assert lp.withheld(5) == 5
    assert lp.share(2, 10, people=True) is None
    assert lp.share(5, 10, people=True) == 0.5
    assert lp.share(1, 3, people=False) == pytest.approx(1 / 3)
    bands = lp.bands_of([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert bands[0][0] == 1
    assert bands[-1][1] == 10
    assert lp.band_of(0, bands) == 0
    assert lp.band_of(10, bands) == len(bands)
    assert lp.band_of(None, bands) is None


# --- the page's reads: audited -----------------------------------------------------------------


def test_view_and_export_are_audited_and_a_period_keeps_the_last_weeks(
    db_session: Session, stored: tuple[int, AnalysisRun]
) -> None:
    import hashlib
    import json

    from sqlalchemy import select

    from signaal.store.models import AuditEvent

    organisation_id, run = stored
    area = resolve_area("Den Haag")
    assert area is not None
    actor = _actor(organisation_id)
    picture = lp.view(db_session, actor, run, area, ip="192.0.2.1", weeks=2, now=NOW)
    assert [w.label for w in picture.weeks] == ["2026-W47", "2026-W48"]
    assert picture.total.ads == 7  # the totals stay those of the whole run
    text = lp.export(db_session, actor, run, area, "weken", ip=None, weeks=1, now=NOW)
    assert text.splitlines()[1].startswith("2026-W48,")
    events = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.in_(("local_picture.viewed", "local_picture.exported")))
        .order_by(AuditEvent.seq)
    ).all()
    assert [e.action for e in events] == ["local_picture.viewed", "local_picture.exported"]
    assert events[0].record_id == str(run.id)
    assert json.loads(events[0].details)["area"] == HAGUE
    exported = json.loads(events[1].details)
    assert (exported["table"], exported["n_rows"]) == ("weken", 1)
    assert exported["sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    with pytest.raises(PermissionDenied):
        lp.export(db_session, _actor(organisation_id, "viewer"), run, area, "weken", ip=None)


def test_run_figures_are_computed_once_per_run_and_never_taken_for_another_run(
    db_session: Session, stored: tuple[int, AnalysisRun], monkeypatch: pytest.MonkeyPatch
) -> None:
    from signaal.store import local_picture as store
    from signaal.store import run_cache

    organisation_id, run = stored
    first = store.per_municipality(db_session, run.id)
    assert first[HAGUE].ads == 7
    assert store.newest_ad(db_session, run.id) is not None
    # Kept: a second view of the same run does not scan its ads again.
    scans: list[str] = []
    real_execute = db_session.execute

    def counting(statement, *args, **kwargs):  # type: ignore[no-untyped-def]
        scans.append(str(statement))
        return real_execute(statement, *args, **kwargs)

    monkeypatch.setattr(db_session, "execute", counting)
    assert store.per_municipality(db_session, run.id) == first
    assert not any("analysis_ads" in sql for sql in scans)
    monkeypatch.setattr(db_session, "execute", real_execute)
    with pytest.raises(TypeError):
        first["Utrecht"] = first[HAGUE]  # type: ignore[index]

    # Another run has its own figures; a run deleted and stored again under the same id (as
    # SQLite may number it) is a new run, not the kept one.
    other = _store(db_session, organisation_id, tag="-b")
    assert store.per_municipality(db_session, other.id)[HAGUE].ads == 7
    run_id = run.id
    db_session.delete(run)
    db_session.flush()
    smaller = {key: rows[:3] if key == "ads" else rows for key, rows in local_rows("-c").items()}
    again = save_analysis(
        db_session,
        source="local-picture-test",
        started_at=NOW,
        finished_at=NOW,
        n_quarantined=0,
        organisation_id=organisation_id,
        actor=SYSTEM,
        **smaller,  # type: ignore[arg-type]
    )
    figures = store.per_municipality(db_session, again)
    if again == run_id:
        assert figures != first
    assert figures[HAGUE].ads == 2
    run_cache.clear()
