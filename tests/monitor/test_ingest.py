"""Daily ingest over the store, on SQLite and PostgreSQL: ads in (new, seen again, changed,
conflicting), encrypted at rest, the analysis of what an organisation holds with its ids kept
and its merges recorded, the drop folder, the organisation rule and the purge with a clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from ads.adfactories import record_json
from signaal.chain import accounts
from signaal.chain.authz import SYSTEM, actor_for
from signaal.errors import InputError, PermissionDenied
from signaal.monitor.ingest import analyse_stored, ingest_folder, ingest_path
from signaal.settings import Settings
from signaal.store import ingested
from signaal.store.db import session_factory, transaction
from signaal.store.models import (
    AnalysisAd,
    AnalysisLineage,
    AuditEvent,
    IngestedAd,
    Organisation,
    OrganisationKind,
)

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
PHONE = "06-90000011"


def _ad(ad_id: str, **overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {"phones": [PHONE], **overrides}
    return record_json(id=ad_id, url=f"https://example.test/{ad_id}", **fields)


def _write(path: Path, records: list[dict[str, object]], extra: str = "") -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records) + extra, encoding="utf-8")
    return path


def _organisation(engine: Engine, name: str = "Eenheid") -> int:
    with transaction(session_factory(engine)) as session:
        return accounts.create_organisation(session, name=name, kind=OrganisationKind.POLICE).id


def _ingest(engine: Engine, path: Path, org: int, settings: Settings, **kw: object) -> object:
    options: dict[str, object] = {"now": NOW, "analyse": False, **kw}
    return ingest_path(
        engine,
        path,
        organisation_id=org,
        settings=settings,
        actor=SYSTEM,
        **options,  # type: ignore[arg-type]
    )


def test_ads_are_counted_new_seen_again_or_changed_and_conflicts_are_quarantined(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    org = _organisation(engine)
    day1 = _write(tmp_path / "day1.jsonl", [_ad("s:1"), _ad("s:2")], extra="{not json\n")
    first = _ingest(engine, day1, org, settings).report  # type: ignore[attr-defined]
    assert (first.n_new, first.n_versions, first.n_seen_again) == (2, 0, 0)
    assert [(q.line, q.field) for q in first.quarantined] == [(3, None)]

    changed = _ad("s:2", text="Nieuwe tekst, bel me.")
    conflicting = _ad("s:3", text="een")
    day2 = _write(
        tmp_path / "day2.jsonl",
        [_ad("s:1"), changed, _ad("s:3"), conflicting, _ad("s:3")],
    )
    second = _ingest(engine, day2, org, settings).report  # type: ignore[attr-defined]
    assert (second.n_new, second.n_versions, second.n_seen_again) == (1, 1, 1)
    assert second.n_duplicates == 1
    assert [(q.line, q.field) for q in second.quarantined] == [(4, "id")]
    assert "already read on line 3" in second.quarantined[0].reason

    with session_factory(engine)() as session:
        rows = session.execute(
            select(IngestedAd.ad_id, IngestedAd.times_seen).order_by(IngestedAd.id)
        ).all()
        assert [tuple(r) for r in rows] == [("s:1", 2), ("s:2", 1), ("s:2", 1), ("s:3", 1)]
        newest = [item.record for item in ingested.newest_records(session, org, NOW)]  # type: ignore[union-attr]
        assert [r.id for r in newest] == ["s:1", "s:2", "s:3"]
        assert newest[1].text == "Nieuwe tekst, bel me."  # the newest version
        # The record is encrypted at rest: the phone and the text are not in the table.
        raw = session.execute(text("SELECT record FROM ingested_ads")).scalars().all()
        assert len(raw) == 4
        assert not any("90000011" in value or "Anna" in value for value in raw)
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "ads.ingested").order_by(AuditEvent.seq)
        ).all()
        assert [json.loads(e.details)["n_new"] for e in events] == [2, 1]
        assert all("90000011" not in e.details for e in events)


def test_the_fingerprint_is_sha256_of_the_canonical_json(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import hashlib

    org = _organisation(engine)
    record = _ad("s:1")
    _ingest(engine, _write(tmp_path / "a.jsonl", [record]), org, settings)
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    with session_factory(engine)() as session:
        got = ingested.received(session, org, ["s:1", "s:unknown"])
    assert list(got) == ["s:1"]
    assert got["s:1"].sha256 == hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert got["s:1"].url == "https://example.test/s:1"
    assert (got["s:1"].first_seen_at, got["s:1"].times_seen, got["s:1"].source) == (
        NOW,
        1,
        "a.jsonl",
    )


def test_only_the_system_ingests_and_each_organisation_reads_only_its_own_ads(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    org = _organisation(engine, "Eenheid")
    other = _organisation(engine, "Zorg")
    with transaction(session_factory(engine)) as session:
        user = accounts.create_user(
            session,
            email="analist@eenheid.example.test",
            password="correct horse battery staple",
            display_name="Analist",
            organisation=session.get_one(Organisation, org),
            role="analyst",
        )
        session.flush()
        analyst = actor_for(user)
    path = _write(tmp_path / "a.jsonl", [_ad("s:1")])
    with pytest.raises(PermissionDenied):
        ingest_path(engine, path, organisation_id=org, settings=settings, now=NOW, actor=analyst)
    _ingest(engine, path, org, settings)
    with session_factory(engine)() as session:
        assert ingested.count_ads(session, org, NOW) == 1
        assert ingested.count_ads(session, other, NOW) == 0
        assert list(ingested.newest_records(session, other, NOW)) == []


def test_an_unreadable_input_is_a_clear_error_and_stores_nothing(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    org = _organisation(engine)
    with pytest.raises(InputError, match="unknown input format"):
        _ingest(engine, _write(tmp_path / "ads.txt", [_ad("s:1")]), org, settings)
    with pytest.raises(InputError, match="no such file"):
        _ingest(engine, tmp_path / "missing.jsonl", org, settings)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(IngestedAd)) == 0


def test_the_analysis_keeps_ids_and_records_a_merge_with_its_evidence(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    org = _organisation(engine)
    # Two personas on day 1 (other names, ages and phones); on day 2 an ad with a smaller id
    # joins the first, and one shares the second's phone with the first's name and age.
    day1 = [
        _ad("s:b1"),
        _ad("s:b2"),
        _ad(
            "s:c1",
            name="Mira",
            title="Mira",
            text="Hoi, ik ben Mira.",
            age=31,
            phones=["06-90000022"],
        ),
        _ad(
            "s:c2",
            name="Mira",
            title="Mira",
            text="Hoi, ik ben Mira.",
            age=31,
            phones=["06-90000022"],
        ),
    ]
    first = _ingest(engine, _write(tmp_path / "d1.jsonl", day1), org, settings, analyse=True)
    run1 = first.run  # type: ignore[attr-defined]
    assert run1 is not None
    assert run1.previous_run_id is None
    assert run1.lineage == ()
    with session_factory(engine)() as session:
        before = dict(
            session.execute(
                select(AnalysisAd.ad_id, AnalysisAd.persona_id).where(
                    AnalysisAd.run_id == run1.run_id
                )
            ).all()
        )
    assert before["s:b1"] != before["s:c1"]

    day2 = [_ad("s:a0")]
    second = _ingest(engine, _write(tmp_path / "d2.jsonl", day2), org, settings, analyse=True)
    run2 = second.run  # type: ignore[attr-defined]
    assert run2.previous_run_id == run1.run_id
    with session_factory(engine)() as session:
        after = dict(
            session.execute(
                select(AnalysisAd.ad_id, AnalysisAd.persona_id).where(
                    AnalysisAd.run_id == run2.run_id
                )
            ).all()
        )
    assert after["s:a0"] == after["s:b1"] == before["s:b1"]
    assert after["s:c1"] == before["s:c1"]

    # Nothing new: no new run.
    again = _ingest(engine, _write(tmp_path / "d3.jsonl", day2), org, settings, analyse=True)
    assert again.run is None  # type: ignore[attr-defined]

    # A bridge: the same name, age and text on the phone of the other persona.
    bridge = _ad(
        "s:d1", phones=[PHONE, "06-90000022"], text="Hoi, ik ben Anna. Bel me voor een afspraak."
    )
    third = _ingest(engine, _write(tmp_path / "d4.jsonl", [bridge]), org, settings, analyse=True)
    run3 = third.run  # type: ignore[attr-defined]
    merged = [e for e in run3.lineage if e.kind == "merged"]
    assert merged, "the bridging ad joins the two day-1 networks"
    with session_factory(engine)() as session:
        stored = session.scalars(
            select(AnalysisLineage).where(AnalysisLineage.run_id == run3.run_id)
        ).all()
    assert {(row.level, row.kind, row.item_id) for row in stored} == {
        (e.level, e.kind, e.item_id) for e in run3.lineage
    }
    for row in stored:
        assert row.previous_run_id == run2.run_id
        evidence = json.loads(row.evidence_json)
        assert evidence
        assert all("s:d1" in (e["ad_id_a"], e["ad_id_b"]) for e in evidence)
        assert "90000022" not in row.evidence_json  # pseudonyms only


def test_the_drop_folder_moves_inputs_to_done_or_failed_and_analyses_once(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    org = _organisation(engine)
    drop = tmp_path / "drop"
    drop.mkdir()
    _write(drop / "a.jsonl", [_ad("s:1")], extra='{"id": 5}\n')
    _write(drop / "b.csv.part", [_ad("s:2")])  # still being written
    (drop / "c.xml").write_text("<ads/>", encoding="utf-8")
    (drop / "link.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    (drop / ".hidden.jsonl").write_text("", encoding="utf-8")
    outcome = ingest_folder(
        engine, drop, organisation_id=org, settings=settings, now=NOW, actor=SYSTEM
    )
    assert [name for name, _ in outcome.ingested] == ["a.jsonl"]
    assert sorted(name for name, _ in outcome.failed) == ["c.xml", "link.jsonl"]
    assert outcome.run is not None
    assert outcome.run.n_ads == 1
    assert sorted(p.name for p in drop.iterdir()) == [
        ".hidden.jsonl",
        "b.csv.part",
        "done",
        "failed",
    ]
    done = sorted(p.name for p in (drop / "done").iterdir())
    assert done == ["20261203T080000Z-a.jsonl", "20261203T080000Z-a.jsonl.quarantine.jsonl"]
    failed = sorted(p.name for p in (drop / "failed").iterdir())
    assert "20261203T080000Z-link.jsonl" in failed
    assert (drop / "failed" / "20261203T080000Z-link.jsonl").is_symlink()
    why = (drop / "failed" / "20261203T080000Z-c.xml.error.txt").read_text(encoding="utf-8")
    assert "unknown input format '.xml'" in why

    # Nothing waiting: no analysis.
    empty = ingest_folder(
        engine, drop, organisation_id=org, settings=settings, now=NOW, actor=SYSTEM
    )
    assert empty.ingested == ()
    assert empty.run is None
    with pytest.raises(InputError, match="does not exist"):
        ingest_folder(
            engine, tmp_path / "nope", organisation_id=org, settings=settings, now=NOW, actor=SYSTEM
        )


def test_ads_whose_analysis_failed_are_analysed_by_the_next_pass(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = _organisation(engine)
    drop = tmp_path / "drop"
    drop.mkdir()
    _write(drop / "a.jsonl", [_ad("s:1")])
    import signaal.monitor.ingest as service

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the machine ran out of memory")

    monkeypatch.setattr(service, "analyse_stored", broken)
    with pytest.raises(RuntimeError):
        ingest_folder(engine, drop, organisation_id=org, settings=settings, now=NOW, actor=SYSTEM)
    monkeypatch.setattr(service, "analyse_stored", analyse_stored)
    assert list((drop / "done").iterdir())  # the ads are kept
    outcome = ingest_folder(
        engine, drop, organisation_id=org, settings=settings, now=NOW, actor=SYSTEM
    )
    assert outcome.ingested == ()
    assert outcome.run is not None
    assert outcome.run.n_ads == 1


def test_expired_ads_are_purged_with_the_clock_and_audited(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    org = _organisation(engine)
    _ingest(engine, _write(tmp_path / "a.jsonl", [_ad("s:1"), _ad("s:2")]), org, settings)
    later = NOW + timedelta(days=settings.ingest_retention_days - 1)
    # s:1 is seen again later: its period starts again.
    _ingest(engine, _write(tmp_path / "b.jsonl", [_ad("s:1")]), org, settings, now=later)
    expiry = NOW + timedelta(days=settings.ingest_retention_days, seconds=1)
    with transaction(session_factory(engine)) as session:
        assert ingested.count_ads(session, org, expiry) == 1
        assert ingested.purge_expired_ads(session, actor=SYSTEM, now=expiry) == 1
        assert ingested.purge_expired_ads(session, actor=SYSTEM, now=expiry) == 0
    with session_factory(engine)() as session:
        assert session.scalars(select(IngestedAd.ad_id)).all() == ["s:1"]
        purged = session.scalars(select(AuditEvent).where(AuditEvent.action == "ads.purged")).all()
        assert [json.loads(e.details)["n_deleted"] for e in purged] == [1]


def test_an_input_larger_than_a_batch_counts_the_same(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingested, "_BATCH", 2)
    org = _organisation(engine)
    _ingest(engine, _write(tmp_path / "a.jsonl", [_ad("s:1"), _ad("s:2")]), org, settings)
    records = [
        _ad("s:1"),
        _ad("s:3"),
        _ad("s:2", text="anders"),
        _ad("s:4"),
        _ad("s:3"),  # a duplicate in a later batch
        _ad("s:4", text="ook anders"),  # a conflict in a later batch
        _ad("s:5"),
    ]
    report = _ingest(engine, _write(tmp_path / "b.jsonl", records), org, settings).report  # type: ignore[attr-defined]
    assert (report.n_new, report.n_versions, report.n_seen_again) == (3, 1, 1)
    assert report.n_duplicates == 1
    assert [(q.line, q.field) for q in report.quarantined] == [(6, "id")]
    with session_factory(engine)() as session:
        assert ingested.count_ads(session, org, NOW) == 5
        times = dict(
            session.execute(
                select(IngestedAd.ad_id, IngestedAd.times_seen).where(IngestedAd.ad_id == "s:1")
            ).all()
        )
    assert times == {"s:1": 2}
