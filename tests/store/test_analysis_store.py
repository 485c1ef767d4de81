"""Analysis results: stored in bulk, read back in order, checked on the way in, purged on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signaal.chain.authz import SYSTEM, Actor
from signaal.errors import PermissionDenied, RecordError
from signaal.privacy.pseudonyms import pseudonym
from signaal.settings import Settings, load_settings
from signaal.store import analysis
from signaal.store.models import (
    AnalysisAd,
    AnalysisRun,
    AuditEvent,
    Organisation,
    OrganisationKind,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PHONE = pseudonym("phone", "+31690000001", "test-key")


def corpus() -> dict[str, list[dict[str, object]]]:
    """A small result set as `signaal analyse` writes it (CSV strings), two networks."""
    ads: list[dict[str, object]] = []
    for i in range(6):
        persona = "P1" if i < 4 else "P2"
        ads.append(
            {
                "ad_id": f"ad-{i}",
                "persona_id": persona,
                "network_id": "N1" if persona == "P1" else "N2",
                "risk_score": str(80 - i),
                "risk_level": "priority" if i < 2 else "review",
                "indicators": "A05 B02" if i % 2 == 0 else "",
                "posted_at": (T0 + timedelta(days=i)).isoformat(),
                "site": "kinky.example",
                "municipality": "Utrecht" if i < 2 else "Amersfoort",
                "title": f"Nieuw in de stad {i}",
                "text": "Alleen vandaag, bel nu",
            }
        )
    personas: list[dict[str, object]] = [
        {
            "persona_id": "P1",
            "network_id": "N1",
            "n_ads": "4",
            "first_seen": T0.isoformat(),
            "last_seen": (T0 + timedelta(days=3)).isoformat(),
            "municipalities": "Utrecht;Amersfoort",
            "risk_score": "82",
            "reasons": "phone shared by 2 personas",
        },
        {
            "persona_id": "P2",
            "network_id": "N2",
            "n_ads": 2,
            "first_seen": (T0 + timedelta(days=4)).isoformat(),
            "last_seen": "",
            "municipalities": ["Amersfoort"],
            "risk_score": 40,
            "reasons": ["new here"],
        },
    ]
    networks: list[dict[str, object]] = [
        {
            "network_id": "N1",
            "n_personas": "1",
            "n_ads": "4",
            "contact_points": PHONE,
            "municipalities": "Utrecht;Amersfoort",
            "risk_score": "82",
            "reasons": "shared phone",
        },
        {
            "network_id": "N2",
            "n_personas": 1,
            "n_ads": 2,
            "contact_points": "",
            "municipalities": "Amersfoort",
            "risk_score": 40,
            "reasons": "",
        },
    ]
    movements: list[dict[str, object]] = [
        {
            "persona_id": "P1",
            "network_id": "N1",
            "from_municipality": "",
            "to_municipality": "Utrecht",
            "at": T0.isoformat(),
        },
        {
            "persona_id": "P1",
            "network_id": "N1",
            "from_municipality": "Utrecht",
            "to_municipality": "Amersfoort",
            "at": (T0 + timedelta(days=2)).isoformat(),
        },
    ]
    return {"ads": ads, "personas": personas, "networks": networks, "movements": movements}


def _organisation(
    session: Session, name: str = "Store-test", kind: OrganisationKind = OrganisationKind.POLICE
) -> int:
    existing = session.scalar(select(Organisation.id).where(Organisation.name == name))
    if existing is not None:
        return existing
    organisation = Organisation(name=name, kind=kind)
    session.add(organisation)
    session.flush()
    return organisation.id


def save(session: Session, settings: Settings, **overrides: object) -> int:
    values: dict[str, object] = {
        "source": "synthetic.jsonl",
        "started_at": T0,
        "finished_at": T0 + timedelta(seconds=5),
        "n_quarantined": 3,
        "organisation_id": _organisation(session),
        "actor": SYSTEM,
        "settings": settings,
        **corpus(),
    }
    values.update(overrides)
    return analysis.save_analysis(session, **values)  # type: ignore[arg-type]


def test_round_trip(db_session: Session, settings: Settings) -> None:
    run_id = save(db_session, settings)
    db_session.commit()
    run = analysis.latest_run(db_session, _organisation(db_session))
    assert run is not None
    assert run.id == run_id
    assert (run.n_ads, run.n_personas, run.n_networks, run.n_movements) == (6, 2, 2, 2)
    assert run.n_quarantined == 3
    assert run.expires_at - run.stored_at == timedelta(days=settings.analysis_retention_days)

    networks = analysis.top_networks(db_session, run_id)
    assert [n.network_id for n in networks] == ["N1", "N2"]
    assert networks[0].contact_points == (PHONE,)
    assert networks[0].municipalities == ("Utrecht", "Amersfoort")
    assert networks[1].contact_points == ()

    personas = analysis.top_personas(db_session, run_id)
    assert [p.persona_id for p in personas] == ["P1", "P2"]
    assert personas[1].reasons == "new here"
    assert personas[1].last_seen is None
    assert [p.persona_id for p in analysis.top_personas(db_session, run_id, network_id="N2")] == [
        "P2"
    ]
    assert analysis.top_personas(db_session, run_id, limit=1)[0].persona_id == "P1"

    detail = analysis.persona_detail(db_session, run_id, "P1")
    assert detail is not None
    assert detail.persona.first_seen == T0
    assert detail.network is not None
    assert detail.network.network_id == "N1"
    assert [a.ad_id for a in detail.ads] == ["ad-3", "ad-2", "ad-1", "ad-0"]
    assert detail.ads[-1].indicators == ("A05", "B02")
    assert detail.ads[-1].posted_at == T0
    assert detail.ads[-1].risk_score == 80
    assert [(m.from_municipality, m.to_municipality) for m in detail.movements] == [
        (None, "Utrecht"),
        ("Utrecht", "Amersfoort"),
    ]
    assert analysis.persona_detail(db_session, run_id, "nope") is None
    assert analysis.network_detail(db_session, run_id, "N2") is not None

    stored = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "analysis.stored")
    ).one()
    assert stored.record_id == str(run_id)
    # The command line stores as the system: recognisable, and no user or organisation of it.
    assert (stored.actor_email, stored.actor_user_id, stored.organisation_id) == (
        "system",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("table", "index", "field", "value", "message"),
    [
        ("ads", 2, "risk_score", "101", "outside"),
        ("ads", 0, "risk_score", "high", "whole number"),
        ("ads", 1, "risk_level", "urgent", "not one of"),
        ("ads", 0, "ad_id", "", "missing"),
        ("ads", 0, "posted_at", "yesterday", "ISO 8601"),
        ("ads", 0, "ad_id", "x" * 300, "longer than"),
        ("personas", 1, "n_ads", "-1", "outside"),
        ("personas", 0, "last_seen", "2020-01-01T00:00:00+00:00", "before first_seen"),
        ("networks", 0, "contact_points", "+31690000001", "pseudonym"),
        ("networks", 0, "contact_points", "someone@example.com", "pseudonym"),
        ("movements", 1, "at", None, "missing"),
    ],
)
def test_bad_values_name_table_row_and_field_and_store_nothing(
    db_session: Session,
    settings: Settings,
    table: str,
    index: int,
    field: str,
    value: object,
    message: str,
) -> None:
    data = corpus()
    data[table][index][field] = value
    with pytest.raises(RecordError, match=message) as raised:
        save(db_session, settings, **data)
    assert raised.value.where == f"{table} row {index + 1}"
    assert raised.value.field == field
    assert db_session.scalar(select(func.count(AnalysisRun.id))) == 0
    assert db_session.scalar(select(func.count(AuditEvent.seq))) == 0


def test_duplicate_ad_is_refused(db_session: Session, settings: Settings) -> None:
    data = corpus()
    data["ads"][3]["ad_id"] = "ad-0"
    with pytest.raises(RecordError, match="duplicate"):
        save(db_session, settings, **data)


def test_run_times_are_checked(db_session: Session, settings: Settings) -> None:
    with pytest.raises(RecordError, match="before started_at"):
        save(db_session, settings, finished_at=T0 - timedelta(seconds=1))
    with pytest.raises(RecordError, match="time zone"):
        save(db_session, settings, started_at=T0.replace(tzinfo=None))


def _user_actor(session: Session, role: str, organisation_id: int, user_id: int = 7) -> Actor:
    kind = session.get(Organisation, organisation_id).kind  # type: ignore[union-attr]
    return Actor(user_id, f"{role}@store.example", organisation_id, kind, role, False)


def test_only_analysts_of_the_owning_organisation_may_store(
    db_session: Session, settings: Settings
) -> None:
    own = _organisation(db_session)
    other = _organisation(db_session, "Other-org", OrganisationKind.OUTREACH)
    with pytest.raises(PermissionDenied):
        save(db_session, settings, actor=_user_actor(db_session, "viewer", own))
    # An analyst of another organisation cannot put a run into this organisation's store.
    with pytest.raises(PermissionDenied):
        save(db_session, settings, actor=_user_actor(db_session, "analyst", other))
    assert db_session.scalar(select(func.count(AnalysisRun.id))) == 0
    run_id = save(db_session, settings, actor=_user_actor(db_session, "analyst", own))
    run = analysis.get_run(db_session, run_id, organisation_id=own)
    assert run is not None
    assert run.stored_by_user_id == 7
    assert run.organisation_id == own


def test_storing_without_an_actor_is_refused(db_session: Session, settings: Settings) -> None:
    """No actor used to skip the permission check; now every write names who does it."""
    with pytest.raises(PermissionDenied):
        save(db_session, settings, actor=None)
    # A user account cannot pass for the system by calling itself "system".
    impostor = Actor(0, "system", 0, None, "system", False)
    with pytest.raises(PermissionDenied):
        save(db_session, settings, actor=impostor)
    assert db_session.scalar(select(func.count(AnalysisRun.id))) == 0
    assert db_session.scalar(select(func.count(AuditEvent.seq))) == 0


def test_a_run_must_belong_to_an_organisation(db_session: Session, settings: Settings) -> None:
    with pytest.raises(PermissionDenied):
        save(db_session, settings, organisation_id=None)
    assert db_session.scalar(select(func.count(AnalysisRun.id))) == 0


def test_readers_see_only_the_runs_of_their_organisation(
    db_session: Session, settings: Settings
) -> None:
    own = _organisation(db_session)
    other = _organisation(db_session, "Other-org", OrganisationKind.HOUSING)
    own_run = save(db_session, settings)
    other_run = save(db_session, settings, organisation_id=other)
    db_session.commit()
    assert analysis.latest_run(db_session, own).id == own_run  # type: ignore[union-attr]
    assert analysis.latest_run(db_session, other).id == other_run  # type: ignore[union-attr]
    assert analysis.get_run(db_session, own_run, organisation_id=other) is None
    assert analysis.get_run(db_session, other_run, organisation_id=own) is None
    assert [r.id for r in analysis.list_runs(db_session, own)] == [own_run]
    nobody = _organisation(db_session, "Empty-org", OrganisationKind.GGD)
    assert analysis.latest_run(db_session, nobody) is None
    assert analysis.list_runs(db_session, nobody) == []


def test_owning_organisation_of_a_persona_or_network(
    db_session: Session, settings: Settings
) -> None:
    own = _organisation(db_session)
    other = _organisation(db_session, "Other-org", OrganisationKind.SHELTER)
    data = corpus()
    for row in data["personas"]:
        row["persona_id"] = f"other-{row['persona_id']}"
    for table in ("ads", "movements"):
        for row in data[table]:
            row["persona_id"] = f"other-{row['persona_id']}"
    save(db_session, settings)
    save(db_session, settings, organisation_id=other, **data)
    db_session.commit()
    owner = analysis.owning_organisation
    assert owner(db_session, "persona", "P1", prefer=other) == own
    assert owner(db_session, "persona", "other-P1", prefer=own) == other
    # N1 is in both runs: the asker's own organisation is preferred.
    assert owner(db_session, "network", "N1", prefer=own) == own
    assert owner(db_session, "network", "N1", prefer=other) == other
    assert owner(db_session, "persona", "P-nowhere", prefer=own) is None
    later = datetime.now(UTC) + timedelta(days=settings.analysis_retention_days + 1)
    assert owner(db_session, "persona", "P1", prefer=own, now=later) is None


def test_purge_expired_deletes_runs_with_their_rows_and_audits(db_session: Session) -> None:
    short = load_settings(env="development", analysis_retention_days=1)
    old = save(db_session, short)
    keep = save(db_session, load_settings(env="development", analysis_retention_days=30))
    db_session.commit()
    organisation = _organisation(db_session)
    assert analysis.purge_expired(db_session, actor=SYSTEM) == []
    later = datetime.now(UTC) + timedelta(days=2)
    latest = analysis.latest_run(db_session, organisation, now=later)
    assert latest is not None
    assert latest.id == keep
    assert analysis.purge_expired(db_session, actor=SYSTEM, now=later) == [old]
    db_session.commit()
    assert analysis.get_run(db_session, old, organisation_id=organisation) is None
    assert analysis.top_networks(db_session, old) == []
    assert db_session.scalar(select(func.count()).select_from(AnalysisAd)) == 6
    purged = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "analysis.purged")
    ).one()
    assert f"[{old}]" in purged.details
    assert purged.actor_email == "system"


def test_only_the_system_purges(db_session: Session) -> None:
    expired = save(db_session, load_settings(env="development", analysis_retention_days=1))
    db_session.commit()
    later = datetime.now(UTC) + timedelta(days=2)
    analyst = _user_actor(db_session, "analyst", _organisation(db_session))
    for actor in (analyst, None):
        with pytest.raises(PermissionDenied):
            analysis.purge_expired(db_session, actor=actor, now=later)  # type: ignore[arg-type]
    organisation = _organisation(db_session)
    assert analysis.get_run(db_session, expired, organisation_id=organisation) is not None
    with pytest.raises(PermissionDenied):  # also when nothing has expired
        analysis.purge_expired(db_session, actor=analyst)


def test_latest_run_ignores_expired_runs(db_session: Session) -> None:
    save(db_session, load_settings(env="development", analysis_retention_days=1))
    db_session.commit()
    organisation = _organisation(db_session)
    later = datetime.now(UTC) + timedelta(days=2)
    assert analysis.latest_run(db_session, organisation, now=later) is None


def test_reason_facts_are_kept_checked_and_optional(
    db_session: Session, settings: Settings
) -> None:
    facts = '[{"id": "C01", "kind": "shared_contact", "contact": "phone:3f9a12345678abcd"}]'
    data = corpus()
    data["personas"][0]["reasons_json"] = facts
    run_id = save(db_session, settings, **data)
    persona = analysis.top_personas(db_session, run_id)[0]
    assert persona.reasons_json == facts
    # A run without the column (an older CSV) keeps its text only.
    assert analysis.top_networks(db_session, run_id)[0].reasons_json is None
    for bad, message in (
        ("not json", "is not JSON"),
        ('{"id": "C01"}', "is not a JSON array of objects"),
        ('[{"id": "C01", "contact": "+31612345678"}]', "no pseudonym"),
    ):
        data = corpus()
        data["networks"][0]["reasons_json"] = bad
        with pytest.raises(RecordError, match=message):
            save(db_session, settings, **data)


def test_network_flows_count_moves_per_pair_and_ads_of_personas(
    db_session: Session, settings: Settings
) -> None:
    rows = corpus()
    moves = [
        ("P1", "Amersfoort", "Utrecht"),
        ("P1", "Utrecht", "Amersfoort"),
        ("P2", "Utrecht", "Amersfoort"),
        ("P2", "Utrecht", "Utrecht"),  # no move
        ("P2", None, "Zwolle"),  # a first appearance
    ]
    for day, (persona, origin, target) in enumerate(moves, start=3):
        rows["movements"].append(
            {
                "persona_id": persona,
                "network_id": "N1",
                "from_municipality": origin,
                "to_municipality": target,
                "at": (T0 + timedelta(days=day)).isoformat(),
            }
        )
    run_id = save(db_session, settings, **rows)
    flows = analysis.network_flows(db_session, run_id, "N1")
    assert flows == [
        analysis.Flow("Utrecht", "Amersfoort", 3, 2),
        analysis.Flow("Amersfoort", "Utrecht", 1, 1),
    ]
    assert analysis.network_flows(db_session, run_id, "N-none") == []
    ads = analysis.ads_of_personas(db_session, run_id, ["P1"], limit=3)
    assert [a.ad_id for a in ads] == ["ad-3", "ad-2", "ad-1"]  # newest first, at most 3
    assert {
        a.persona_id for a in analysis.ads_of_personas(db_session, run_id, ["P1", "P2"], limit=99)
    } == {"P1", "P2"}
    assert analysis.ads_of_personas(db_session, run_id, [], limit=5) == []
