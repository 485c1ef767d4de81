"""The visit list of a joint control: personas of the planner's latest run, what each
organisation sees of them, and the outcome of a visit (shared) with its note (own only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import controls
from signaal.chain.authz import SYSTEM
from signaal.errors import ConflictError, FieldErrors, NotFoundError, PermissionDenied
from signaal.store.analysis import save_analysis
from signaal.store.models import AuditEvent, JointControl
from web.conftest import analysis_rows

from .casework_fixtures import World, actor, world

PSEUDONYM = "phone:0123456789abcdef"


@pytest.fixture
def w(db_session: Session) -> World:
    return world(db_session)


def _police_run(db: Session, w: World) -> None:
    rows = analysis_rows()
    rows["ads"][0]["text"] = f"Hallo, ik ben nieuw hier en ik ben er voor jou. Bel [{PSEUDONYM}]"
    now = datetime.now(UTC)
    save_analysis(
        db,
        source="visits-test",
        started_at=now - timedelta(minutes=1),
        finished_at=now,
        n_quarantined=0,
        organisation_id=w.police.id,
        actor=SYSTEM,
        **rows,  # type: ignore[arg-type]
    )


def _control(db: Session, w: World) -> JointControl:
    return controls.plan_control(
        db,
        w.officer,
        partner_organisation_id=w.outreach.id,
        planned_at=datetime.now(UTC) + timedelta(days=2),
    )


def test_a_persona_of_the_latest_run_goes_on_the_list_and_others_are_refused(
    db_session: Session, w: World
) -> None:
    _police_run(db_session, w)
    control = _control(db_session, w)
    with pytest.raises(FieldErrors) as caught:
        controls.add_persona(db_session, w.officer, control, "P-nowhere")
    assert caught.value.fields == {"persona_id": "not a persona of your latest analysis"}
    controls.add_persona(db_session, w.officer, control, "P-1")
    with pytest.raises(ConflictError):
        controls.add_persona(db_session, w.officer, control, "P-1")
    # The partner sees the list but does not select the planner's personas.
    with pytest.raises(NotFoundError):
        controls.add_persona(db_session, w.worker, control, "P-1")
    [visit] = controls.visit_list(db_session, w.officer, control)
    assert visit.municipality == "Utrecht"
    assert visit.last_advertised is not None
    assert visit.languages == ("nl",)
    assert visit.risk_score == 75
    assert visit.contact_points == (PSEUDONYM,)


def test_the_partner_sees_the_practical_part_and_no_contact_point(
    db_session: Session, w: World
) -> None:
    _police_run(db_session, w)
    control = _control(db_session, w)
    controls.add_persona(db_session, w.officer, control, "P-1")
    [visit] = controls.visit_list(db_session, w.worker, control)
    assert (visit.municipality, visit.risk_score, visit.contact_points) == ("Utrecht", 75, ())
    stranger = actor(db_session, w.shelter_org, "outreach_worker", "ow2@shelter.example.test")
    with pytest.raises(PermissionDenied):
        controls.visit_list(db_session, stranger, control)


def test_the_outcome_is_shared_the_note_is_not_and_it_is_audited(
    db_session: Session, w: World
) -> None:
    _police_run(db_session, w)
    control = _control(db_session, w)
    controls.add_persona(db_session, w.officer, control, "P-1")
    with pytest.raises(FieldErrors):
        controls.record_outcome(db_session, w.worker, control, "P-1", outcome="verdict")
    controls.record_outcome(
        db_session, w.worker, control, "P-1", outcome="referred_to_care", note="Wil hulp"
    )
    [own] = controls.visit_list(db_session, w.worker, control)
    [planner] = controls.visit_list(db_session, w.officer, control)
    assert (own.outcome, own.note) == ("referred_to_care", "Wil hulp")
    assert (planner.outcome, planner.note) == ("referred_to_care", None)
    with pytest.raises(ConflictError):
        controls.remove_persona(db_session, w.officer, control, "P-1")
    event = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "chain.record_written")
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).one()
    assert '"visit_outcome"' in event.details
    assert "Wil hulp" not in event.details


def test_an_outcome_never_takes_the_other_organisations_note_and_the_list_is_capped(
    db_session: Session, w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _police_run(db_session, w)
    control = _control(db_session, w)
    controls.add_persona(db_session, w.officer, control, "P-1")
    controls.record_outcome(db_session, w.worker, control, "P-1", outcome="met", note="Gesprek")
    with pytest.raises(ConflictError):
        controls.record_outcome(db_session, w.officer, control, "P-1", outcome="no_concerns")
    [own] = controls.visit_list(db_session, w.worker, control)
    assert (own.outcome, own.note) == ("met", "Gesprek")
    # The recording organisation may change its own record.
    controls.record_outcome(db_session, w.worker, control, "P-1", outcome="referred_to_care")
    [own] = controls.visit_list(db_session, w.worker, control)
    assert (own.outcome, own.note) == ("referred_to_care", "")
    monkeypatch.setattr(controls, "MAX_PERSONAS", 1)
    with pytest.raises(ConflictError, match="at most 1 personas"):
        controls.add_persona(db_session, w.officer, control, "P-2")


def test_a_persona_goes_only_on_an_open_control_of_the_own_organisation(
    db_session: Session, w: World
) -> None:
    _police_run(db_session, w)
    open_one = _control(db_session, w)
    past = controls.plan_control(
        db_session,
        w.officer,
        partner_organisation_id=w.outreach.id,
        planned_at=datetime.now(UTC) - timedelta(days=1),
    )
    assert controls.open_controls(db_session, w.officer) == [open_one]
    # The partner plans nothing here: the control it takes part in is not its to fill.
    assert controls.open_controls(db_session, w.worker) == []
    for chosen in (past.id, 999_999, str(open_one.id), None):
        with pytest.raises(FieldErrors) as caught:
            controls.add_persona_to_open_control(db_session, w.officer, chosen, "P-1")
        assert caught.value.fields == {"control_id": "choose a planned control"}
    with pytest.raises(FieldErrors):
        controls.add_persona_to_open_control(db_session, w.worker, open_one.id, "P-1")
    controls.add_persona_to_open_control(db_session, w.officer, open_one.id, "P-1")
    assert controls.controls_with_persona(db_session, w.officer, "P-1") == [open_one]
    assert controls.controls_with_persona(db_session, w.officer, "P-2") == []
