"""Sealed contact points of a stored run: saved in the run's transaction, revealed one at a time,
deleted with the run; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signaal.errors import RecordError
from signaal.privacy.pseudonyms import pseudonym
from signaal.privacy.sealing import Sealer, SealError
from signaal.settings import Settings
from signaal.store import analysis
from signaal.store.contacts import contact_point_names, reveal_contact_point, save_contact_points
from signaal.store.models import AnalysisContactPoint, AnalysisRun

from .test_analysis_store import save

KEY = "test-contact-key-0123456789abcdef-0123456789"
VALUES = {
    pseudonym("phone", "+31690000001", "test-key"): "+31690000001",
    pseudonym("email", "anna.test@example.nl", "test-key"): "anna.test@example.nl",
    pseudonym("handle", "telegram:annatest", "test-key"): "telegram:annatest",
}


def test_saved_sealed_and_revealed_one_at_a_time(db_session: Session, settings: Settings) -> None:
    run_id = save(db_session, settings)
    sealer = Sealer(KEY)
    assert save_contact_points(db_session, run_id, VALUES, sealer) == 3
    db_session.commit()
    stored = db_session.scalars(select(AnalysisContactPoint.sealed)).all()
    assert len(stored) == 3
    assert not any(value in sealed for sealed in stored for value in VALUES.values())
    assert contact_point_names(db_session, run_id) == set(VALUES)
    for name, value in VALUES.items():
        assert reveal_contact_point(db_session, run_id, name, sealer) == value
    assert reveal_contact_point(db_session, run_id, "phone:ffffffffffffffff", sealer) is None
    # Hostile pseudonyms are not looked up at all (a NUL would be an error on PostgreSQL).
    assert reveal_contact_point(db_session, run_id, "phone:\x00abc", sealer) is None
    assert reveal_contact_point(db_session, run_id + 1, next(iter(VALUES)), sealer) is None
    with pytest.raises(SealError):
        reveal_contact_point(db_session, run_id, next(iter(VALUES)), Sealer(KEY + "other"))


def test_a_bad_pseudonym_or_value_stores_nothing(db_session: Session, settings: Settings) -> None:
    run_id = save(db_session, settings)
    with pytest.raises(RecordError, match="not a pseudonym"):
        save_contact_points(db_session, run_id, {"+31690000001": "+31690000001"}, Sealer(KEY))
    with pytest.raises(RecordError, match="empty"):
        save_contact_points(db_session, run_id, {next(iter(VALUES)): ""}, Sealer(KEY))
    assert db_session.scalar(select(func.count()).select_from(AnalysisContactPoint)) == 0


def test_deleted_with_their_run(db_session: Session, settings: Settings) -> None:
    run_id = save(db_session, settings)
    save_contact_points(db_session, run_id, VALUES, Sealer(KEY))
    db_session.commit()
    run = db_session.get(AnalysisRun, run_id)
    assert run is not None
    owner = run.organisation_id
    db_session.delete(run)
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(AnalysisContactPoint)) == 0
    assert analysis.get_run(db_session, run_id, organisation_id=owner) is None
