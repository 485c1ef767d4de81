"""The audit chain: typed events appended in order, and every kind of tampering detected."""

from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from signaal import audit
from signaal.chain.authz import Actor
from signaal.errors import AuditIntegrityError
from signaal.store.db import session_factory
from signaal.store.models import AuditChainHead, AuditEvent, OrganisationKind

ACTOR = Actor(
    user_id=7,
    email="analist@politie.example",
    organisation_id=3,
    organisation_kind=OrganisationKind.POLICE,
    role="analyst",
    is_demo=False,
)


def write_events(session: Session, n: int) -> list[AuditEvent]:
    rows = [
        audit.record(
            session,
            audit.PersonaViewed(run_id=1, persona_id=f"P{i:03d}"),
            actor=ACTOR,
            ip="192.0.2.10",
            purpose="review of a signal",
        )
        for i in range(n)
    ]
    session.commit()
    return rows


def tamper(engine: Engine, *statements: str) -> None:
    """Run raw SQL past the append-only triggers, as an attacker with database access could."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        for statement in statements:
            conn.execute(text(statement))
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def problems(session: Session) -> list[tuple[int, str]]:
    session.expire_all()
    report = audit.verify(session)
    return [(p.seq, p.kind) for p in report.problems]


def test_events_are_chained_in_order_and_verify(db_session: Session) -> None:
    rows = write_events(db_session, 5)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    first = rows[0]
    assert first.action == "analysis.persona_viewed"
    assert first.record_type == "persona"
    assert first.record_id == "P000"
    assert first.actor_email == ACTOR.email
    assert first.organisation_id == ACTOR.organisation_id
    assert first.purpose == "review of a signal"
    assert first.ip == "192.0.2.10"
    assert '"persona_id":"P000"' in first.details
    assert first.at.tzinfo is not None
    report = audit.verify(db_session)
    assert report.ok
    assert report.checked == 5
    assert report.head_seq == 5
    assert report.head_hash == rows[-1].hash


def test_empty_log_verifies(db_session: Session) -> None:
    report = audit.verify(db_session)
    assert report.ok
    assert report.checked == 0


def test_hash_does_not_depend_on_how_the_backend_returns_rows(db_session: Session) -> None:
    rows = write_events(db_session, 2)
    db_session.expire_all()
    stored = db_session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [audit.compute_hash(r) for r in stored] == [r.hash for r in rows]


def test_event_without_actor_is_the_system(db_session: Session) -> None:
    row = audit.record(
        db_session,
        audit.LoginFailed(email="x@y.example", reason="unknown_user"),
        actor=None,
        ip=None,
    )
    assert row.actor_user_id is None
    assert row.actor_email is None
    assert row.record_id is None


def test_nothing_is_written_when_the_caller_rolls_back(db_session: Session) -> None:
    write_events(db_session, 2)
    audit.record(db_session, audit.Logout(user_id=1), actor=ACTOR, ip=None)
    db_session.rollback()
    assert db_session.scalar(select(func.count(AuditEvent.seq))) == 2
    assert audit.verify(db_session).ok
    row = audit.record(db_session, audit.Logout(user_id=1), actor=ACTOR, ip=None)
    db_session.commit()
    assert row.seq == 3


def test_changed_row_is_reported_with_its_seq(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 5)
    tamper(engine, "UPDATE audit_events SET purpose = 'curiosity' WHERE seq = 3")
    assert problems(db_session) == [(3, "changed")]


def test_changed_and_rehashed_row_is_reported(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 5)
    row = db_session.get(AuditEvent, 3)
    assert row is not None
    db_session.expunge(row)
    row.actor_email = "someone.else@politie.example"
    new_hash = audit.compute_hash(row)
    tamper(
        engine,
        "UPDATE audit_events SET actor_email = 'someone.else@politie.example', "
        f"hash = '{new_hash}' WHERE seq = 3",
    )
    assert problems(db_session) == [(3, "changed")]


def test_removed_row_is_reported(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 5)
    tamper(engine, "DELETE FROM audit_events WHERE seq = 2")
    assert problems(db_session) == [(2, "removed")]


def test_removed_last_row_is_reported(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 5)
    tamper(engine, "DELETE FROM audit_events WHERE seq = 5")
    assert problems(db_session) == [(5, "removed")]


def test_inserted_row_at_the_end_is_reported(db_session: Session, engine: Engine) -> None:
    rows = write_events(db_session, 3)
    forged = AuditEvent(
        seq=4,
        at=rows[-1].at,
        actor_user_id=None,
        actor_email=None,
        organisation_id=None,
        action="logout",
        record_type=None,
        record_id=None,
        purpose=None,
        ip=None,
        details="{}",
        prev_hash=rows[-1].hash,
    )
    forged.hash = audit.compute_hash(forged)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_events (seq, at, action, details, prev_hash, hash) "
                "VALUES (4, :at, 'logout', '{}', :prev, :hash)"
            ),
            {
                "at": forged.at
                if engine.dialect.name == "postgresql"
                else forged.at.replace(tzinfo=None),
                "prev": forged.prev_hash,
                "hash": forged.hash,
            },
        )
    assert problems(db_session) == [(4, "inserted")]


def test_inserted_row_in_the_middle_is_reported(db_session: Session, engine: Engine) -> None:
    rows = write_events(db_session, 4)
    # Make room at seq 3 by moving rows 3 and 4 up, then slip in a well-formed forged row.
    forged = AuditEvent(
        at=rows[1].at,
        actor_user_id=99,
        actor_email="forger@x.example",
        organisation_id=3,
        action="analysis.persona_viewed",
        record_type="persona",
        record_id="P999",
        purpose=None,
        ip=None,
        details="{}",
        prev_hash=rows[1].hash,
    )
    forged.hash = audit.compute_hash(forged)
    at = forged.at if engine.dialect.name == "postgresql" else forged.at.replace(tzinfo=None)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET seq = seq + 100 WHERE seq >= 3"))
        conn.execute(text("UPDATE audit_events SET seq = seq - 99 WHERE seq >= 100"))
        conn.execute(
            text(
                "INSERT INTO audit_events (seq, at, actor_user_id, actor_email, organisation_id, "
                "action, record_type, record_id, details, prev_hash, hash) VALUES (3, :at, 99, "
                "'forger@x.example', 3, 'analysis.persona_viewed', 'persona', 'P999', '{}', "
                ":prev, :hash)"
            ),
            {"at": at, "prev": forged.prev_hash, "hash": forged.hash},
        )
    assert problems(db_session) == [(3, "inserted")]


PROBLEMS_OF_SWAP = [(2, "reordered"), (3, "reordered"), (4, "reordered")]


def test_swapped_rows_are_reported(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 5)
    tamper(
        engine,
        "UPDATE audit_events SET seq = 100 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = 100",
    )
    assert problems(db_session) == PROBLEMS_OF_SWAP


def test_raise_if_broken(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 3)
    audit.verify(db_session).raise_if_broken()
    tamper(engine, "UPDATE audit_events SET ip = '203.0.113.1' WHERE seq = 1")
    db_session.expire_all()
    with pytest.raises(AuditIntegrityError, match="row 1"):
        audit.verify(db_session).raise_if_broken()


def test_ordinary_update_and_delete_are_refused(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 2)
    for statement in (
        "UPDATE audit_events SET purpose = 'x' WHERE seq = 1",
        "DELETE FROM audit_events WHERE seq = 1",
    ):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert audit.verify(db_session).ok


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])  # TRUNCATE exists only on PostgreSQL
def test_truncate_is_refused_on_postgres(engine: Engine, db_session: Session) -> None:
    write_events(db_session, 1)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_events"))


def test_concurrent_writers_do_not_fork_the_chain(engine: Engine) -> None:
    factory = session_factory(engine)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with factory() as session:
                    audit.record(
                        session, audit.AnalysisViewed(run_id=n * 100 + i), actor=ACTOR, ip=None
                    )
                    session.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with factory() as session:
        report = audit.verify(session)
        assert report.ok, report.problems
        assert report.checked == 40
        head = session.get(AuditChainHead, audit.CHAIN_HEAD_ID)
        assert head is not None
        assert head.seq == 40


def test_missing_chain_head_is_an_integrity_error(db_session: Session) -> None:
    db_session.execute(text("DELETE FROM audit_chain_head"))
    with pytest.raises(AuditIntegrityError, match="chain head"):
        audit.record(db_session, audit.Logout(user_id=1), actor=None, ip=None)


def test_every_event_type_has_a_unique_action_name() -> None:
    def subclasses(cls: type) -> list[type]:
        found = []
        for sub in cls.__subclasses__():
            found.append(sub)
            found.extend(subclasses(sub))
        return found

    events = subclasses(audit.AuditEventBase)
    names = [e.action for e in events]  # type: ignore[attr-defined]
    assert all(names)
    assert len(names) == len(set(names))


def test_list_events_filters_and_pages(db_session: Session) -> None:
    write_events(db_session, 5)
    other = Actor(8, "x@ggd.example", 4, OrganisationKind.GGD, "viewer", False)
    audit.record(db_session, audit.Logout(user_id=8), actor=other, ip=None)
    db_session.commit()
    newest = audit.list_events(db_session, limit=3)
    assert [e.seq for e in newest] == [6, 5, 4]
    assert [e.seq for e in audit.list_events(db_session, before_seq=4, limit=10)] == [3, 2, 1]
    assert [e.seq for e in audit.list_events(db_session, organisation_id=4)] == [6]
    assert [e.seq for e in audit.list_events(db_session, action_prefix="analysis.")] == [
        5,
        4,
        3,
        2,
        1,
    ]
    assert [
        e.seq for e in audit.list_events(db_session, record_type="persona", record_id="P002")
    ] == [3]
    assert audit.list_events(db_session, action_prefix="analysis%") == []
