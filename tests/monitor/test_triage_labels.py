"""Triage decisions become labels that ``signaal calibrate`` learns from: the service's export,
its permission and audit, and the loop through the real command line (triage labels, then
calibrate on them)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ads.test_calibrate import _corpus
from signaal.ads.risk import load_weights
from signaal.chain import accounts
from signaal.chain.authz import SYSTEM, Actor, actor_for
from signaal.cli import app
from signaal.errors import PermissionDenied
from signaal.monitor import triage
from signaal.settings import Settings, get_settings
from signaal.store import analysis
from signaal.store.db import make_engine, session_factory, transaction
from signaal.store.models import AnalysisRun, AuditEvent, Organisation, OrganisationKind

KEY = "test-pseudonym-key"


def _rows(
    groups: dict[str, list[str]], places: dict[str, str]
) -> dict[str, list[dict[str, object]]]:
    """A stored analysis with one persona (and network) per group of ads."""
    now = datetime.now(UTC)
    personas, networks, ads = [], [], []
    for group, ad_ids in sorted(groups.items()):
        networks.append(
            {
                "network_id": f"N-{group}",
                "n_personas": 1,
                "n_ads": len(ad_ids),
                "contact_points": "",
                "municipalities": places[group],
                "risk_score": 50,
                "reasons": "",
            }
        )
        personas.append(
            {
                "persona_id": f"P-{group}",
                "network_id": f"N-{group}",
                "n_ads": len(ad_ids),
                "municipalities": places[group],
                "risk_score": 50,
                "reasons": "",
            }
        )
        for ad_id in ad_ids:
            ads.append(
                {
                    "ad_id": ad_id,
                    "persona_id": f"P-{group}",
                    "network_id": f"N-{group}",
                    "risk_score": 50,
                    "risk_level": "review",
                    "indicators": "",
                    "municipality": places[group],
                    "posted_at": now - timedelta(days=1),
                }
            )
    return {"ads": ads, "personas": personas, "networks": networks, "movements": []}


def _store(session: Session, settings: Settings, organisation_id: int, rows: dict) -> AnalysisRun:  # type: ignore[type-arg]
    now = datetime.now(UTC)
    run_id = analysis.save_analysis(
        session,
        source="labels-test",
        started_at=now - timedelta(minutes=1),
        finished_at=now,
        n_quarantined=0,
        organisation_id=organisation_id,
        actor=SYSTEM,
        settings=settings,
        **rows,
    )
    run = session.get(AnalysisRun, run_id)
    assert run is not None
    return run


def _coordinator(session: Session, name: str) -> tuple[Organisation, Actor]:
    organisation = accounts.create_organisation(session, name=name, kind=OrganisationKind.GGD)
    user = accounts.create_user(
        session,
        email=f"coordinator@{name.lower().replace(' ', '-')}.example.test",
        password="a long enough password",
        display_name="Coördinator",
        organisation=organisation,
        role="care_coordinator",
    )
    return organisation, actor_for(user)


def test_escalated_and_dismissed_items_are_labels_reviewed_ones_not(
    db_session: Session, settings: Settings
) -> None:
    organisation, actor = _coordinator(db_session, "GGD Labels")
    groups = {"a": ["ad-a1", "ad-a2"], "b": ["ad-b1"], "c": ["ad-c1"]}
    run = _store(
        db_session, settings, organisation.id, _rows(groups, dict.fromkeys(groups, "Utrecht"))
    )
    other, other_actor = _coordinator(db_session, "GGD Anders")
    other_run = _store(
        db_session, settings, other.id, _rows(groups, dict.fromkeys(groups, "Utrecht"))
    )

    def decide(who: Actor, on: AnalysisRun, kind: str, item: str, decision: str) -> None:
        triage.decide(
            db_session,
            who,
            on,
            kind,
            item,
            decision,  # type: ignore[arg-type]
            reason="reden",
            pseudonym_key=KEY,
            ip=None,
        )

    decide(actor, run, "network", "N-a", "dismiss")
    decide(actor, run, "persona", "P-a", "escalate")  # the persona's own decision wins
    decide(actor, run, "persona", "P-b", "dismiss")
    decide(actor, run, "persona", "P-c", "review")
    decide(other_actor, other_run, "persona", "P-c", "escalate")  # another organisation's

    export = triage.export_labels(db_session, SYSTEM, organisation.id)
    lines = [json.loads(line) for line in export.text.splitlines()]
    assert {(line["ad_id"], line["controlled"]) for line in lines} == {
        ("ad-a1", True),
        ("ad-a2", True),
        ("ad-b1", False),
    }
    assert (export.n_decisions, export.n_ads, export.n_without_ads) == (3, 3, 0)
    event = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "triage.labels_exported")
    )
    assert event is not None
    assert export.sha256 in event.details
    assert event.actor_email == "system"


def test_only_the_system_exports_labels(db_session: Session) -> None:
    organisation, actor = _coordinator(db_session, "GGD Geen Export")
    with pytest.raises(PermissionDenied):
        triage.export_labels(db_session, actor, organisation.id)


def test_a_decision_on_a_purged_run_has_no_ads_left(
    db_session: Session, settings: Settings
) -> None:
    organisation, actor = _coordinator(db_session, "GGD Bewaartermijn")
    run = _store(db_session, settings, organisation.id, _rows({"a": ["ad-1"]}, {"a": "Ede"}))
    triage.decide(
        db_session, actor, run, "persona", "P-a", "dismiss", reason="x", pseudonym_key=KEY, ip=None
    )
    db_session.execute(delete(AnalysisRun).where(AnalysisRun.id == run.id))
    export = triage.export_labels(db_session, SYSTEM, organisation.id)
    assert (export.text, export.n_decisions, export.n_without_ads) == ("", 1, 1)


@pytest.fixture
def cli_store(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    get_settings.cache_clear()
    yield migrated_url
    get_settings.cache_clear()


def test_calibrate_learns_from_the_triage_decisions(cli_store: str, tmp_path: Path) -> None:
    """The queue's escalations and dismissals, exported by `signaal triage labels`, are the
    `--truth` of `signaal calibrate`: it fits weights on them."""
    ads, _, truth = _corpus(12)
    ads_path = tmp_path / "ads.jsonl"
    ads_path.write_text(
        "\n".join(json.dumps(ad.record.to_json()) for ad in ads) + "\n", encoding="utf-8"
    )
    # One persona per group of the corpus (ids "ad00000" .. : four ads a member).
    groups: dict[str, list[str]] = {}
    for ad in ads:
        groups.setdefault(ad.record.name or ad.id, []).append(ad.id)
    engine = make_engine(cli_store)
    try:
        with transaction(session_factory(engine)) as session:
            organisation, actor = _coordinator(session, "GGD Kalibratie")
            run = _store(
                session,
                get_settings(),
                organisation.id,
                _rows(groups, dict.fromkeys(groups, "Utrecht")),
            )
            for group, ad_ids in groups.items():
                decision = "escalate" if truth[ad_ids[0]] else "dismiss"
                triage.decide(
                    session,
                    actor,
                    run,
                    "persona",
                    f"P-{group}",
                    decision,
                    reason="besluit",
                    pseudonym_key=KEY,
                    ip=None,
                )
    finally:
        engine.dispose()
    runner = CliRunner()
    labels = tmp_path / "labels.jsonl"
    exported = runner.invoke(
        app, ["triage", "labels", "--organisation", "GGD Kalibratie", "--out", str(labels)]
    )
    assert exported.exit_code == 0, exported.output
    assert f"{len(ads)} labelled ad(s)" in exported.output
    written = [json.loads(line) for line in labels.read_text().splitlines()]
    assert {line["ad_id"]: line["controlled"] for line in written} == truth
    weights = tmp_path / "weights.json"
    fitted = runner.invoke(
        app,
        [
            "calibrate",
            "--ads",
            str(ads_path),
            "--truth",
            str(labels),
            "--out",
            str(weights),
            "--test-share",
            "0.4",
        ],
    )
    assert fitted.exit_code == 0, fitted.output
    data = json.loads(weights.read_text())
    assert data["calibration"]["positives_train"] > 0
    assert data["calibration"]["n_train"] + data["calibration"]["n_test"] >= 10
    assert load_weights(weights).weights["C01"] == data["weights"]["C01"]
