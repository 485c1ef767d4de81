"""Special categories are encrypted at rest (AES-GCM with the data key), on SQLite and
PostgreSQL: the raw rows hold no clear text, a value moved to another column does not open, a
wrong or missing key is a clear error, and migration 0008 encrypts old rows and goes back."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from signaal.chain import cases
from signaal.privacy.at_rest import AtRestError, FieldCipher
from signaal.store import db
from signaal.store.models import Case, CaseEvent, Signal, VulnerabilityAssessment
from signaal.store.models import utcnow as now

from .casework_fixtures import World, world

SECRET = "Roos vertelde dat haar vriend haar paspoort heeft"
NOTES = "Licht verstandelijke beperking, schulden bij de pooier"


@pytest.fixture
def w(db_session: Session) -> World:
    return world(db_session)


def _signal(session: Session, w: World, body: str = SECRET) -> Signal:
    signal = Signal(
        organisation_id=w.outreach.id,
        category="E1",
        observed_at=now(),
        text=body,
        subject_id=w.subject.id,
    )
    session.add(signal)
    session.flush()
    return signal


def _raw(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


def test_free_text_and_vulnerability_factors_are_ciphertext_in_the_database(
    engine: Engine, db_session: Session, w: World
) -> None:
    signal = _signal(db_session, w)
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    assessment = cases.record_assessment(
        db_session,
        w.worker,
        case,
        answers={"intellectual_disability": "yes", "dependency": "no"},
        notes=NOTES,
    )
    cases.move_stage(db_session, w.worker, case, to_stage="closed", reason="Verhuisd naar Zwolle")
    db_session.commit()

    (stored_text,) = _raw(engine, "SELECT text FROM signals WHERE id = :id", id=signal.id)[0]
    assert isinstance(stored_text, str)
    assert stored_text.startswith("e1.")
    assert "paspoort" not in stored_text
    assert "Roos" not in stored_text
    row = _raw(
        engine,
        "SELECT notes, intellectual_disability, dependency, prior_trauma "
        "FROM vulnerability_assessments WHERE id = :id",
        id=assessment.id,
    )[0]
    assert all(str(value).startswith("e1.") for value in row[:3])
    assert row[3] is None  # unknown stays unknown (NULL)
    assert "verstandelijke" not in str(row[0])
    (closed_reason,) = _raw(engine, "SELECT closed_reason FROM cases WHERE id = :id", id=case.id)[0]
    assert "Zwolle" not in str(closed_reason)
    details = [str(r[0]) for r in _raw(engine, "SELECT details FROM case_events")]
    assert details
    assert all(d.startswith("e1.") for d in details)
    assert not any("intellectual_disability" in d for d in details)

    # The rest of the code reads clear text, unchanged.
    db_session.expunge_all()
    again = db_session.get(VulnerabilityAssessment, assessment.id)
    assert again is not None
    assert again.notes == NOTES
    assert (again.intellectual_disability, again.dependency, again.prior_trauma) == (
        True,
        False,
        None,
    )
    reread = db_session.get(Signal, signal.id)
    assert reread is not None
    assert reread.text == SECRET
    closed = db_session.get(Case, case.id)
    assert closed is not None
    assert closed.closed_reason == "Verhuisd naar Zwolle"


def test_equal_texts_are_stored_differently(engine: Engine, db_session: Session, w: World) -> None:
    first, second = _signal(db_session, w), _signal(db_session, w)
    db_session.commit()
    stored = _raw(engine, "SELECT text FROM signals WHERE id IN (:a, :b)", a=first.id, b=second.id)
    assert len({row[0] for row in stored}) == 2


def test_a_value_moved_to_another_column_or_table_does_not_open(
    engine: Engine, db_session: Session, w: World
) -> None:
    signal = _signal(db_session, w)
    case = cases.open_case(db_session, w.worker, subject_id=w.subject.id)
    db_session.commit()
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE cases SET closed_reason = (SELECT text FROM signals WHERE id = :s)"),
            {"s": signal.id},
        )
        conn.execute(
            text("UPDATE case_events SET text = (SELECT text FROM signals WHERE id = :s)"),
            {"s": signal.id},
        )
    db_session.expunge_all()
    with pytest.raises(AtRestError, match=r"cases\.closed_reason .*does not open"):
        db_session.get(Case, case.id)
    db_session.expunge_all()
    with pytest.raises(AtRestError, match=r"case_events\.text"):
        db_session.query(CaseEvent).all()


def test_a_wrong_or_missing_key_is_a_clear_error(
    migrated_url: str, engine: Engine, db_session: Session, w: World
) -> None:
    signal = _signal(db_session, w)
    db_session.commit()
    other = db.make_engine(migrated_url, data_key="another-data-key-0123456789abcdef-0123")
    try:
        with (
            db.session_factory(other)() as session,
            pytest.raises(AtRestError, match=r"signals\.text .*another data key"),
        ):
            session.get(Signal, signal.id)
    finally:
        other.dispose()
    with pytest.raises(AtRestError, match="SIGNAAL_DATA_KEY"):
        db.make_engine(migrated_url, data_key="")
    # A value the app did not encrypt (a store not migrated, or a row written around it).
    with engine.begin() as conn:
        conn.execute(text("UPDATE signals SET text = 'plain words'"))
    db_session.expunge_all()
    with pytest.raises(AtRestError, match=r"signals\.text .*not encrypted"):
        db_session.get(Signal, signal.id)


def test_the_cipher_binds_table_and_column_and_refuses_damage() -> None:
    cipher = FieldCipher("k" * 40)
    stored = cipher.encrypt("Anna", table="signals", column="text")
    assert cipher.decrypt(stored, table="signals", column="text") == "Anna"
    for table, column in (("signals", "notes"), ("tasks", "text")):
        with pytest.raises(AtRestError):
            cipher.decrypt(stored, table=table, column=column)
    damaged = stored[:-2] + ("A" if stored[-2] != "A" else "B") + stored[-1]
    for broken in (damaged, "e1.@@@", "e1.AAAA", "v1." + stored[3:]):
        with pytest.raises(AtRestError):
            cipher.decrypt(broken, table="signals", column="text")
    with pytest.raises(AtRestError):
        FieldCipher("j" * 40).decrypt(stored, table="signals", column="text")


def test_migration_0008_encrypts_old_rows_and_the_downgrade_opens_them(store_url: str) -> None:
    db.upgrade(store_url, "0007")
    engine = db.make_engine(store_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisations (id, name, kind, is_demo, created_at) "
                    "VALUES (1, 'Outreach Oud', 'outreach', false, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO subjects (id, organisation_id, alias, created_at, updated_at) "
                    "VALUES (1, 1, 'Roos', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO signals (id, organisation_id, source, category, observed_at, "
                    "text, status, contact_pseudonyms, created_at, updated_at) VALUES (1, 1, "
                    "'observation', 'E1', CURRENT_TIMESTAMP, :body, 'new', '', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"body": SECRET},
            )
            conn.execute(
                text(
                    "INSERT INTO cases (id, organisation_id, subject_id, stage, opened_at, "
                    "updated_at) VALUES (1, 1, 1, 'signal', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO vulnerability_assessments (id, case_id, organisation_id, at, "
                    "prior_trauma, dependency, notes) VALUES (1, 1, 1, CURRENT_TIMESTAMP, true, "
                    "false, :notes)"
                ),
                {"notes": NOTES},
            )
    finally:
        engine.dispose()

    db.upgrade(store_url)
    assert db.schema_drift(store_url) == []
    engine = db.make_engine(store_url)
    try:
        raw = _raw(engine, "SELECT text FROM signals")[0][0]
        assert str(raw).startswith("e1.")
        assert "paspoort" not in str(raw)
        raw_factors = _raw(
            engine, "SELECT prior_trauma, dependency, notes FROM vulnerability_assessments"
        )[0]
        assert all(str(value).startswith("e1.") for value in raw_factors)
        with db.session_factory(engine)() as session:
            signal = session.get(Signal, 1)
            assessment = session.get(VulnerabilityAssessment, 1)
            assert signal is not None
            assert signal.text == SECRET
            assert assessment is not None
            assert (assessment.prior_trauma, assessment.dependency) == (True, False)
            assert assessment.notes == NOTES
    finally:
        engine.dispose()

    db.downgrade(store_url, "0007")
    engine = db.make_engine(store_url)
    try:
        assert _raw(engine, "SELECT text FROM signals")[0][0] == SECRET
        factors = _raw(
            engine, "SELECT prior_trauma, dependency, notes FROM vulnerability_assessments"
        )[0]
        assert (bool(factors[0]), bool(factors[1]), factors[2]) == (True, False, NOTES)
    finally:
        engine.dispose()
    db.upgrade(store_url)  # and up again: the same rows encrypted once more
    assert db.schema_drift(store_url) == []
