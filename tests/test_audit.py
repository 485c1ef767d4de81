"""The audit chain: typed events appended in order, keyed with the audit key, and every kind of
tampering detected — by an attacker who can write the database but does not hold the key —
on SQLite and PostgreSQL. Also: checkpoints, signed anchors (RFC 6962 Merkle tree heads) and
the pages of the audit log."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import random
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from signaal import audit
from signaal.chain.authz import Actor
from signaal.cli import app as cli_app
from signaal.errors import AuditIntegrityError, InputError
from signaal.settings import get_settings
from signaal.store.db import make_engine, session_factory, upgrade
from signaal.store.models import AuditChainHead, AuditCheckpoint, AuditEvent, OrganisationKind

AUDIT_KEY = "audit-key-of-the-tests-0123456789abcdef-0123"
OTHER_KEY = "another-deployments-audit-key-0123456789abcdef"
KEYS = audit.audit_keys(AUDIT_KEY)
ATTACKER_KEYS = audit.audit_keys(OTHER_KEY)

ACTOR = Actor(
    user_id=7,
    email="analist@politie.example",
    organisation_id=3,
    organisation_kind=OrganisationKind.POLICE,
    role="analyst",
    is_demo=False,
)
OTHER_ACTOR = Actor(8, "x@ggd.example", 4, OrganisationKind.GGD, "viewer", False)


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session whose audit rows are keyed with the tests' audit key (as the app binds its)."""
    with session_factory(engine, audit_key=AUDIT_KEY)() as session:
        yield session


def write_events(session: Session, n: int, actor: Actor = ACTOR) -> list[AuditEvent]:
    rows = [
        audit.record(
            session,
            audit.PersonaViewed(run_id=1, persona_id=f"P{i:03d}"),
            actor=actor,
            ip="192.0.2.10",
            purpose="review of a signal",
        )
        for i in range(n)
    ]
    session.commit()
    return rows


def tamper(engine: Engine, *statements: object) -> None:
    """Run SQL past the append-only triggers, as an attacker with database access could."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        for statement in statements:
            conn.execute(text(statement) if isinstance(statement, str) else statement)  # type: ignore[arg-type]
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))


def stored(session: Session) -> list[AuditEvent]:
    session.expire_all()
    rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    for row in rows:
        session.expunge(row)
    return rows


def forged_row(after: AuditEvent, *, keys: audit.AuditKeys | None, **changes: object) -> AuditEvent:
    """A well-formed row linked after ``after``, hashed the way an attacker can: unkeyed
    (``keys`` None, scheme "sha256") or with a key that is not the deployment's."""
    row = AuditEvent(
        seq=after.seq + 1,
        at=after.at,
        actor_user_id=99,
        actor_email="forger@x.example",
        organisation_id=3,
        action="analysis.persona_viewed",
        record_type="persona",
        record_id="P999",
        purpose=None,
        ip=None,
        details="{}",
        prev_hash=after.hash,
        scheme=audit.SCHEME_UNKEYED if keys is None else audit.SCHEME_KEYED,
    )
    for name, value in changes.items():
        setattr(row, name, value)
    row.hash = (
        hashlib.sha256(audit.canonical_content(row)).hexdigest()
        if keys is None
        else audit.compute_hash(row, keys)
    )
    return row


def row_values(row: AuditEvent) -> dict[str, object]:
    return {column.key: getattr(row, column.key) for column in AuditEvent.__table__.columns}


def set_head(row: AuditEvent) -> object:
    return (
        update(AuditChainHead)
        .where(AuditChainHead.id == audit.CHAIN_HEAD_ID)
        .values(seq=row.seq, hash=row.hash)
    )


def problems(session: Session, **options: object) -> list[tuple[int, str]]:
    session.expire_all()
    report = audit.verify(session, write_checkpoint=False, **options)  # type: ignore[arg-type]
    return [(p.seq, p.kind) for p in report.problems]


# ----------------------------------------------------------------------------------------------
# Writing


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


def test_rows_are_keyed_with_the_audit_key(db_session: Session) -> None:
    rows = write_events(db_session, 2)
    for row in stored(db_session):
        assert row.scheme == "hmac-sha256"
        content = audit.canonical_content(row)
        assert json.loads(content)["prev_hash"] == row.prev_hash
        assert row.hash == hmac.new(AUDIT_KEY.encode(), content, hashlib.sha256).hexdigest()
        assert row.hash != hashlib.sha256(content).hexdigest()
    assert [r.hash for r in stored(db_session)] == [r.hash for r in rows]


def test_the_key_comes_with_the_session_or_else_from_the_settings(engine: Engine) -> None:
    with session_factory(engine)() as session:  # no key bound: the process's settings
        row = audit.record(session, audit.Logout(user_id=1), actor=ACTOR, ip=None)
        session.commit()
        settings_keys = audit.audit_keys(get_settings().audit_key)
        assert row.hash == audit.compute_hash(row, settings_keys)
        assert row.hash != audit.compute_hash(row, KEYS)


def test_a_chain_does_not_verify_under_another_key(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 3)
    with session_factory(engine, audit_key=OTHER_KEY)() as session:
        report = audit.verify(session, write_checkpoint=False)
    assert [(p.seq, p.kind) for p in report.problems] == [
        (1, "changed"),
        (2, "changed"),
        (3, "changed"),
    ]


def test_empty_log_verifies(db_session: Session) -> None:
    report = audit.verify(db_session)
    assert report.ok
    assert report.checked == 0


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


def test_concurrent_writers_do_not_fork_the_chain(engine: Engine) -> None:
    factory = session_factory(engine, audit_key=AUDIT_KEY)
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


def test_verifying_while_others_append_finds_nothing_wrong(engine: Engine) -> None:
    factory = session_factory(engine, audit_key=AUDIT_KEY)
    done = threading.Event()
    found: list[list[audit.AuditProblem]] = []

    def writer() -> None:
        while not done.is_set():
            with factory() as session:
                audit.record(session, audit.Logout(user_id=1), actor=ACTOR, ip=None)
                session.commit()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(15):
            with factory() as session:
                report = audit.verify(session, full=False)
                session.commit()
                found.append(report.problems)
    finally:
        done.set()
        thread.join()
    assert found == [[]] * 15


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


# ----------------------------------------------------------------------------------------------
# Tampering without the key


def test_changed_row_is_reported_with_its_seq(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 5)
    tamper(engine, "UPDATE audit_events SET purpose = 'curiosity' WHERE seq = 3")
    assert problems(db_session) == [(3, "changed")]


@pytest.mark.parametrize("hashing", ["unkeyed", "wrong key"])
def test_changed_and_rehashed_row_is_reported(
    db_session: Session, engine: Engine, hashing: str
) -> None:
    write_events(db_session, 5)
    row = stored(db_session)[2]
    row.actor_email = "someone.else@politie.example"
    row.scheme = "sha256" if hashing == "unkeyed" else "hmac-sha256"
    new_hash = (
        hashlib.sha256(audit.canonical_content(row)).hexdigest()
        if hashing == "unkeyed"
        else audit.compute_hash(row, ATTACKER_KEYS)
    )
    tamper(
        engine,
        update(AuditEvent)
        .where(AuditEvent.seq == 3)
        .values(actor_email=row.actor_email, hash=new_hash, scheme=row.scheme),
    )
    assert problems(db_session) == [(3, "forged" if hashing == "unkeyed" else "changed")]


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
    forged = forged_row(rows[-1], keys=KEYS)  # even with the right key: the head says 3
    tamper(engine, insert(AuditEvent).values(row_values(forged)))
    assert problems(db_session) == [(4, "inserted")]


@pytest.mark.parametrize("hashing", ["unkeyed", "wrong key"])
def test_inserted_row_with_the_head_fixed_is_named(
    db_session: Session, engine: Engine, hashing: str
) -> None:
    """The attack that used to pass: append a well-formed row and move the head onto it."""
    rows = write_events(db_session, 3)
    forged = forged_row(rows[-1], keys=None if hashing == "unkeyed" else ATTACKER_KEYS)
    tamper(engine, insert(AuditEvent).values(row_values(forged)), set_head(forged))
    expected = "forged" if hashing == "unkeyed" else "changed"
    assert problems(db_session) == [(4, expected)]
    report = audit.verify(db_session, write_checkpoint=False)
    assert "row 4" in report.problems[0].message


def test_inserted_row_in_the_middle_is_reported(db_session: Session, engine: Engine) -> None:
    rows = write_events(db_session, 4)
    # Make room at seq 3 by moving rows 3 and 4 up, then slip in a forged row linked to row 2.
    forged = forged_row(rows[1], keys=ATTACKER_KEYS)
    tamper(
        engine,
        "UPDATE audit_events SET seq = seq + 100 WHERE seq >= 3",
        "UPDATE audit_events SET seq = seq - 99 WHERE seq >= 100",
        insert(AuditEvent).values(row_values(forged)),
        "UPDATE audit_chain_head SET seq = 5",
    )
    assert problems(db_session) == [(3, "changed"), (3, "inserted")]


def test_swapped_rows_are_reported(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 5)
    tamper(
        engine,
        "UPDATE audit_events SET seq = 100 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = 100",
    )
    assert problems(db_session) == [(2, "reordered"), (3, "reordered"), (4, "reordered")]


@pytest.mark.parametrize("hashing", ["unkeyed", "wrong key"])
def test_rewritten_tail_with_recomputed_hashes_is_named(
    db_session: Session, engine: Engine, hashing: str
) -> None:
    """Rows 4–6 rewritten and re-chained, head fixed: every rewritten row is named."""
    write_events(db_session, 6)
    rows = stored(db_session)
    rewritten: list[AuditEvent] = []
    previous = rows[2]
    for original in rows[3:]:
        row = forged_row(
            previous,
            keys=None if hashing == "unkeyed" else ATTACKER_KEYS,
            at=original.at,
            actor_user_id=original.actor_user_id,
            actor_email=original.actor_email,
            record_id=original.record_id,
            purpose="routine check",
            details=original.details,
        )
        rewritten.append(row)
        previous = row
    tamper(
        engine,
        "DELETE FROM audit_events WHERE seq >= 4",
        *(insert(AuditEvent).values(row_values(row)) for row in rewritten),
        set_head(rewritten[-1]),
    )
    kind = "forged" if hashing == "unkeyed" else "changed"
    assert problems(db_session) == [(4, kind), (5, kind), (6, kind)]


def test_unkeyed_row_after_keyed_rows_is_a_forgery(db_session: Session, engine: Engine) -> None:
    rows = write_events(db_session, 2)
    forged = forged_row(rows[-1], keys=None)
    tamper(engine, insert(AuditEvent).values(row_values(forged)), set_head(forged))
    db_session.expire_all()
    report = audit.verify(db_session, write_checkpoint=False)
    assert [(p.seq, p.kind) for p in report.problems] == [(3, "forged")]
    assert "without the audit key" in report.problems[0].message


def test_raise_if_broken(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 3)
    audit.verify(db_session, write_checkpoint=False).raise_if_broken()
    tamper(engine, "UPDATE audit_events SET ip = '203.0.113.1' WHERE seq = 1")
    db_session.expire_all()
    with pytest.raises(AuditIntegrityError, match="row 1"):
        audit.verify(db_session).raise_if_broken()


# ----------------------------------------------------------------------------------------------
# Rows from before the keyed chain (migration 0001)


def old_hash(values: dict[str, object]) -> str:
    """The row hash of revision 0001, written out again here: unkeyed SHA-256."""
    content = {key: values[key] for key in (
        "actor_user_id", "actor_email", "organisation_id", "action", "record_type",
        "record_id", "purpose", "ip", "details", "prev_hash",
    )}  # fmt: skip
    content["at"] = values["at"].isoformat(timespec="microseconds")  # type: ignore[attr-defined]
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def test_rows_of_revision_0001_still_verify_after_the_upgrade(store_url: str) -> None:
    upgrade(store_url, "0001")
    engine = make_engine(store_url)
    try:
        prev = audit.GENESIS_HASH
        with engine.begin() as conn:
            for i in range(3):
                values: dict[str, object] = {
                    "seq": i + 1,
                    "at": datetime(2026, 1, 5, 9, 30, i, 123456, tzinfo=UTC),
                    "actor_user_id": 7,
                    "actor_email": "analist@politie.example",
                    "organisation_id": 3,
                    "action": "analysis.persona_viewed",
                    "record_type": "persona",
                    "record_id": f"P{i}",
                    "purpose": "review",
                    "ip": None,
                    "details": "{}",
                    "prev_hash": prev,
                }
                values["hash"] = prev = old_hash(values)
                at = values["at"]
                if engine.dialect.name == "sqlite":
                    values["at"] = at.replace(tzinfo=None)  # type: ignore[attr-defined]
                columns = ", ".join(values)
                conn.execute(
                    text(
                        f"INSERT INTO audit_events ({columns}) VALUES "
                        f"({', '.join(':' + c for c in values)})"
                    ),
                    values,
                )
            conn.execute(text("UPDATE audit_chain_head SET seq = 3, hash = :h"), {"h": prev})
        upgrade(store_url)
        with session_factory(engine, audit_key=AUDIT_KEY)() as session:
            write_events(session, 2)
            report = audit.verify(session, write_checkpoint=False)
            assert report.ok, report.problems
            assert report.checked == 5
            assert report.legacy_rows == 3
            assert [r.scheme for r in stored(session)] == ["sha256"] * 3 + ["hmac-sha256"] * 2
            # The unkeyed rows stay tamper-evident as before.
            tamper(engine, "UPDATE audit_events SET purpose = 'other' WHERE seq = 2")
            assert problems(session) == [(2, "changed")]
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------------------------
# Checkpoints: incremental verification


def test_verification_starts_at_the_last_checkpoint(db_session: Session) -> None:
    write_events(db_session, 5)
    first = audit.verify(db_session, full=False)
    db_session.commit()
    assert (first.full, first.checked) == (True, 5)  # no checkpoint yet
    write_events(db_session, 3)
    second = audit.verify(db_session, full=False)
    db_session.commit()
    assert second.ok
    assert (second.full, second.verified_before, second.checked) == (False, 5, 3)
    assert second.checkpoint_at is not None
    checkpoints = db_session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq))
    assert list(checkpoints) == [5, 8]
    assert audit.verify(db_session, full=True).checked == 8


def test_a_broken_chain_gets_no_checkpoint(db_session: Session, engine: Engine) -> None:
    write_events(db_session, 3)
    tamper(engine, "UPDATE audit_events SET purpose = 'x' WHERE seq = 2")
    db_session.expire_all()
    assert not audit.verify(db_session).ok
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(AuditCheckpoint)) == 0


def test_changed_checkpoint_row_is_found_by_incremental_verification(
    db_session: Session, engine: Engine
) -> None:
    write_events(db_session, 4)
    audit.verify(db_session)
    db_session.commit()
    tamper(engine, "UPDATE audit_events SET purpose = 'x' WHERE seq = 4")
    assert problems(db_session, full=False) == [(4, "changed")]


def test_unknown_scheme_on_the_checkpointed_row_is_reported(
    db_session: Session, engine: Engine
) -> None:
    write_events(db_session, 4)
    audit.verify(db_session)
    db_session.commit()
    tamper(engine, "UPDATE audit_events SET scheme = 'md5' WHERE seq = 4")
    assert problems(db_session, full=False) == [(4, "changed"), (4, "forged")]


def test_incremental_verification_leaves_older_rows_to_the_full_one(
    db_session: Session, engine: Engine
) -> None:
    """The trade-off, stated as a test: rows before a sound checkpoint are not re-read."""
    write_events(db_session, 4)
    audit.verify(db_session)
    db_session.commit()
    tamper(engine, "UPDATE audit_events SET purpose = 'x' WHERE seq = 2")
    assert problems(db_session, full=False) == []
    assert problems(db_session, full=True) == [(2, "changed")]


@pytest.mark.parametrize("forgery", ["plain hash", "wrong key", "moved"])
def test_forged_checkpoint_is_reported_and_the_whole_chain_walked(
    db_session: Session, engine: Engine, forgery: str
) -> None:
    """An attacker changes row 2, then plants a checkpoint after it so that incremental
    verification would skip it."""
    rows = write_events(db_session, 4)
    tamper(engine, "UPDATE audit_events SET purpose = 'x' WHERE seq = 2")
    tag = {
        "plain hash": rows[3].hash,
        "wrong key": audit.checkpoint_tag(ATTACKER_KEYS, 4, rows[3].hash),
        "moved": audit.checkpoint_tag(KEYS, 3, rows[2].hash),  # a real tag, on another row
    }[forgery]
    with engine.begin() as conn:
        conn.execute(insert(AuditCheckpoint).values(seq=4, hash=tag, verified_at=datetime.now(UTC)))
    assert problems(db_session, full=False) == [(4, "checkpoint"), (2, "changed")]


def test_checkpoint_beyond_the_end_reveals_a_wiped_tail(
    db_session: Session, engine: Engine
) -> None:
    rows = write_events(db_session, 6)
    audit.verify(db_session)
    db_session.commit()
    tamper(engine, "DELETE FROM audit_events WHERE seq > 4", set_head(rows[3]))
    assert problems(db_session, full=False) == [(6, "removed")]
    assert problems(db_session, full=True) == [(6, "removed")]


# ----------------------------------------------------------------------------------------------
# Merkle tree (RFC 6962)


def recursive_mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 section 2.1, as written there."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + recursive_mth(leaves[:k]) + recursive_mth(leaves[k:])).digest()


def test_merkle_root_matches_the_rfc_definition_on_random_sizes() -> None:
    rng = random.Random(6962)
    for size in [*range(1, 71), *rng.sample(range(71, 600), 5)]:
        entries = [rng.randbytes(32) for _ in range(size)]
        assert audit.merkle_root(e.hex() for e in entries) == recursive_mth(entries).hex(), size


def test_merkle_root_of_a_small_tree_computed_by_hand() -> None:
    a, b, c = (bytes([n]) * 32 for n in (1, 2, 3))

    def h(data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    # Three entries: the split is at 2, so the root is node(node(leaf a, leaf b), leaf c).
    expected = h(b"\x01" + h(b"\x01" + h(b"\x00" + a) + h(b"\x00" + b)) + h(b"\x00" + c))
    assert audit.merkle_root([a.hex(), b.hex(), c.hex()]) == expected.hex()
    assert audit.merkle_root([a.hex()]) == h(b"\x00" + a).hex()
    assert audit.merkle_root([]) == h(b"").hex()
    # The leaf and node prefixes keep a leaf from passing as a node (second preimage).
    assert audit.merkle_root([a.hex(), b.hex()]) != h(a + b).hex()


# ----------------------------------------------------------------------------------------------
# Anchors


def test_anchor_covers_the_chain_and_is_signed(db_session: Session) -> None:
    rows = write_events(db_session, 5)
    anchor = audit.make_anchor(db_session)
    assert (anchor.tree_size, anchor.last_seq, anchor.last_hash) == (5, 5, rows[-1].hash)
    assert anchor.root_hash == audit.merkle_root(r.hash for r in rows)
    assert anchor.public_key == KEYS.public_key
    assert anchor.signature_ok(KEYS)
    assert not anchor.signature_ok(ATTACKER_KEYS)
    again = audit.Anchor.from_json(anchor.to_json())
    assert again == anchor
    write_events(db_session, 3)  # the chain grows: the anchor still holds
    report = audit.verify(db_session, anchor=again)
    assert report.ok, report.problems


def test_tail_wipe_with_head_fix_is_detected_against_an_anchor(
    db_session: Session, engine: Engine
) -> None:
    rows = write_events(db_session, 6)
    anchor = audit.make_anchor(db_session)
    tamper(
        engine,
        "DELETE FROM audit_events WHERE seq > 4",
        set_head(rows[3]),
        delete(AuditCheckpoint),
    )
    # What is left agrees with itself and with the head: only the anchor knows better.
    assert problems(db_session) == []
    assert problems(db_session, anchor=anchor) == [(5, "removed")]
    db_session.expire_all()
    message = audit.verify(db_session, anchor=anchor).problems[0].message
    assert "covers 6" in message


def test_wipe_and_regrow_is_detected_against_an_anchor(db_session: Session, engine: Engine) -> None:
    """Wipe the tail, then let the app append again: the chain is as long as the anchor, and
    keyed, but the anchored entries are not the same."""
    rows = write_events(db_session, 6)
    anchor = audit.make_anchor(db_session)
    tamper(
        engine,
        "DELETE FROM audit_events WHERE seq > 4",
        set_head(rows[3]),
        delete(AuditCheckpoint),
    )
    db_session.expunge_all()
    write_events(db_session, 3)
    assert problems(db_session) == []
    assert problems(db_session, anchor=anchor) == [(6, "anchor")]


def test_forged_anchor_is_refused(db_session: Session) -> None:
    write_events(db_session, 4)
    anchor = audit.make_anchor(db_session)
    altered = replace(anchor, tree_size=2, root_hash=audit.merkle_root([]))
    assert problems(db_session, anchor=altered) == [(4, "anchor")]
    # Signed well, but by a key that is not this deployment's.
    foreign = replace(anchor, public_key=ATTACKER_KEYS.public_key)
    foreign = replace(foreign, signature=ATTACKER_KEYS.signing.sign(foreign.signed_content()).hex())
    assert problems(db_session, anchor=foreign) == [(4, "anchor")]
    assert problems(db_session, anchor=replace(anchor, signature="zz")) == [(4, "anchor")]


def test_anchor_of_a_longer_chain_is_reported(
    db_session: Session, store_url: str, backend: str
) -> None:
    # On SQLite store_url is the file of migrated_url: take a file of its own.
    other_url = store_url.replace("/store/", "/other/") if backend == "sqlite" else store_url
    upgrade(other_url)
    other = make_engine(other_url)
    try:
        with session_factory(other, audit_key=AUDIT_KEY)() as session:
            write_events(session, 8, actor=OTHER_ACTOR)
            longer = audit.make_anchor(session)
    finally:
        other.dispose()
    write_events(db_session, 3)
    assert problems(db_session, anchor=longer) == [(4, "removed")]
    write_events(db_session, 5)  # as long now, but other entries
    assert problems(db_session, anchor=longer) == [(8, "anchor")]


@pytest.mark.parametrize(
    ("text_of_anchor", "field"),
    [
        ("not json", "not JSON"),
        ("[]", "JSON object"),
        ('{"format": "x"}', "format"),
        ('{"format": "signaal-audit-anchor/1", "tree_size": "5"}', "tree_size"),
        ('{"format": "signaal-audit-anchor/1", "tree_size": true}', "tree_size"),
    ],
)
def test_malformed_anchor_file_says_which_field(text_of_anchor: str, field: str) -> None:
    with pytest.raises(InputError, match=field):
        audit.Anchor.from_json(text_of_anchor, source="anchor.json")


# ----------------------------------------------------------------------------------------------
# Reading: pages filtered in SQL


def test_list_events_filters_and_pages(db_session: Session) -> None:
    write_events(db_session, 5)
    audit.record(db_session, audit.Logout(user_id=8), actor=OTHER_ACTOR, ip=None)
    db_session.commit()
    newest = audit.list_events(db_session, limit=3)
    assert [e.seq for e in newest] == [6, 5, 4]
    assert [e.seq for e in audit.list_events(db_session, before_seq=4, limit=10)] == [3, 2, 1]
    assert [e.seq for e in audit.list_events(db_session, after_seq=2, limit=2)] == [4, 3]
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


def test_an_organisations_events_are_found_however_busy_the_deployment(
    db_session: Session,
) -> None:
    """The audit page used to read the newest 1,000 rows and filter afterwards."""
    write_events(db_session, 3)
    write_events(db_session, 1100, actor=OTHER_ACTOR)
    page = audit.page_events(db_session, organisation_id=ACTOR.organisation_id, size=100)
    assert [e.seq for e in page.events] == [3, 2, 1]
    assert (page.older_before, page.newer_after) == (None, None)


def test_pages_of_one_organisation_link_both_ways(db_session: Session) -> None:
    for _ in range(5):
        write_events(db_session, 5)  # seq 1-5, 11-15, ... for ACTOR
        write_events(db_session, 5, actor=OTHER_ACTOR)
    own = ACTOR.organisation_id
    first = audit.page_events(db_session, organisation_id=own, size=10)
    assert [e.seq for e in first.events] == [*range(45, 40, -1), *range(35, 30, -1)]
    assert first.newer_after is None
    assert first.older_before == 31
    second = audit.page_events(db_session, organisation_id=own, before_seq=31, size=10)
    assert [e.seq for e in second.events] == [*range(25, 20, -1), *range(15, 10, -1)]
    assert (second.older_before, second.newer_after) == (11, 25)
    last = audit.page_events(db_session, organisation_id=own, before_seq=11, size=10)
    assert [e.seq for e in last.events] == [5, 4, 3, 2, 1]
    assert (last.older_before, last.newer_after) == (None, 5)
    back = audit.page_events(db_session, organisation_id=own, after_seq=25, size=10)
    assert [e.seq for e in back.events] == [e.seq for e in first.events]
    everything = audit.page_events(db_session, organisation_id=None, size=10)
    assert [e.seq for e in everything.events] == list(range(50, 40, -1))


# ----------------------------------------------------------------------------------------------
# The command line: signaal audit verify / anchor


@pytest.fixture
def cli_store(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Engine, Session]]:
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", migrated_url)
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_AUDIT_KEY", AUDIT_KEY)
    get_settings.cache_clear()
    engine = make_engine(migrated_url)
    try:
        with session_factory(engine, audit_key=AUDIT_KEY)() as session:
            yield engine, session
    finally:
        engine.dispose()
        get_settings.cache_clear()


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["audit", *args])
    return result.exit_code, result.output


def test_cli_anchor_then_verify_against_it(
    cli_store: tuple[Engine, Session], tmp_path: Path
) -> None:
    engine, session = cli_store
    rows = write_events(session, 6)
    anchor_file = tmp_path / "anchor-1.json"
    code, output = cli("anchor", "--out", str(anchor_file))
    assert code == 0, output
    assert json.loads(anchor_file.read_text())["tree_size"] == 6
    code, output = cli("anchor", "--out", str(anchor_file))
    assert code == 2
    assert "exists" in output
    code, output = cli("verify", "--anchor", str(anchor_file))
    assert code == 0, output
    assert "matches the anchor" in output
    assert "6 row(s) checked (whole chain)" in output
    code, output = cli("verify")
    assert code == 0, output
    assert "0 row(s) checked (rows after checkpoint 6" in output
    # An anchor is never written through a symlink or over a file.
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    (tmp_path / "link.json").symlink_to(target)
    assert cli("anchor", "--out", str(tmp_path / "link.json"))[0] == 2
    assert target.read_text() == "keep me"

    tamper(
        engine, "DELETE FROM audit_events WHERE seq > 3", set_head(rows[2]), delete(AuditCheckpoint)
    )
    assert cli("verify")[0] == 0
    code, output = cli("verify", "--anchor", str(anchor_file))
    assert code == 1
    assert "row 4: removed" in output
    assert "Traceback" not in output


def test_cli_stdout_anchor_and_bad_anchor_files(
    cli_store: tuple[Engine, Session], tmp_path: Path
) -> None:
    _engine, session = cli_store
    write_events(session, 2)
    code, output = cli("anchor")
    assert code == 0, output
    assert audit.Anchor.from_json(output).tree_size == 2
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "signaal-audit-anchor/1"}')
    code, output = cli("verify", "--anchor", str(broken))
    assert code == 2
    assert "tree_size" in output
    code, output = cli("verify", "--anchor", str(tmp_path / "missing.json"))
    assert code == 2
    assert "cannot read" in output


def test_cli_refuses_to_anchor_a_broken_chain(
    cli_store: tuple[Engine, Session], tmp_path: Path
) -> None:
    engine, session = cli_store
    rows = write_events(session, 2)
    forged = forged_row(rows[-1], keys=None)
    tamper(engine, insert(AuditEvent).values(row_values(forged)), set_head(forged))
    code, output = cli("anchor", "--out", str(tmp_path / "a.json"))
    assert code == 1
    assert "row 3: forged" in output
    assert not (tmp_path / "a.json").exists()
