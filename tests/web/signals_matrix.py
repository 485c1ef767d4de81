"""The chain signal pages' part of the access matrix: the routes of signals, subjects, routing,
referrals, agreements, the emergency procedure, contact requests on a hit and the own
organisation's contact route, and the records the organisation matrix names (one signal,
subject, referral, agreement and incoming contact request per organisation, texts tagged with
it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from signaal.chain import contact_requests, referrals, sharing, signals, subjects, watches
from signaal.chain.authz import Actor
from signaal.store.models import Organisation

ANON, PENDING = "anonymous", "pending"

VIEW_SIGNALS = {
    "care_coordinator",
    "outreach_worker",
    "police_officer",
    "youth_care_worker",
    "shelter_worker",
    "signal_reporter",
    "integration",
}
CREATE_SIGNALS = VIEW_SIGNALS - {"shelter_worker"}
ROUTE = {"care_coordinator"}
VIEW_SUBJECTS = {
    "care_coordinator",
    "outreach_worker",
    "police_officer",
    "youth_care_worker",
    "shelter_worker",
    "integration",
}
MANAGE_SUBJECTS = VIEW_SUBJECTS - {"shelter_worker"}
DECIDE = {
    "care_coordinator",
    "outreach_worker",
    "police_officer",
    "youth_care_worker",
    "shelter_worker",
}
SHARE = {"care_coordinator", "outreach_worker", "police_officer", "youth_care_worker"}
REVEAL = {"analyst", "outreach_worker", "police_officer"}
REVEAL_SUBJECTS = REVEAL & VIEW_SUBJECTS
VIEW_AGREEMENTS = {
    "administrator",
    "care_coordinator",
    "outreach_worker",
    "police_officer",
    "youth_care_worker",
    "shelter_worker",
    "integration",
}
MANAGE_AGREEMENTS = {"administrator"}
EMERGENCY = {"care_coordinator", "outreach_worker", "police_officer"}
# Contact requests on a hit: the roles that work on persons, not integrations.
CONTACT = {"care_coordinator", "outreach_worker", "police_officer", "youth_care_worker"}
CONTACT_ROUTE = {"administrator"}
WATCHERS = {"care_coordinator", "youth_care_worker"}
# Access and erasure requests and the legal hold: the roles that work on persons, not
# integrations and not the shelter worker (who does not manage subjects).
SUBJECT_REQUESTS = {"care_coordinator", "outreach_worker", "police_officer", "youth_care_worker"}

NOWHERE = "999999"


def expected_entries(
    protected: Callable[..., dict[str, int]],
) -> dict[tuple[str, str], tuple[str, dict[str, int]]]:
    """Entries of the access matrix (``protected`` as there): record routes with an id that names
    no record answer 404 to the roles that may do the action, 403 to the others."""
    return {
        ("GET", "/signalen"): ("/signalen", protected(VIEW_SIGNALS, 200)),
        ("GET", "/signalen/nieuw"): ("/signalen/nieuw", protected(CREATE_SIGNALS, 200)),
        ("POST", "/signalen"): ("/signalen", protected(CREATE_SIGNALS, 422)),
        ("GET", "/signalen/{signal_id}"): (
            f"/signalen/{NOWHERE}",
            protected(VIEW_SIGNALS, 404),
        ),
        ("POST", "/signalen/{signal_id}/persoon"): (
            f"/signalen/{NOWHERE}/persoon",
            protected(MANAGE_SUBJECTS, 404),
        ),
        ("POST", "/signalen/{signal_id}/delen"): (
            f"/signalen/{NOWHERE}/delen",
            protected(SHARE, 404),
        ),
        ("POST", "/signalen/{signal_id}/verwijzen"): (
            f"/signalen/{NOWHERE}/verwijzen",
            protected(DECIDE, 404),
        ),
        ("GET", "/personen/{subject_id}"): (f"/personen/{NOWHERE}", protected(VIEW_SUBJECTS, 404)),
        ("POST", "/personen/{subject_id}"): (
            f"/personen/{NOWHERE}",
            protected(MANAGE_SUBJECTS, 404),
        ),
        ("GET", "/personen/{subject_id}/inzage"): (
            f"/personen/{NOWHERE}/inzage",
            protected(SUBJECT_REQUESTS, 404),
        ),
        ("POST", "/personen/{subject_id}/verwijderen"): (
            f"/personen/{NOWHERE}/verwijderen",
            protected(SUBJECT_REQUESTS, 404),
        ),
        ("POST", "/personen/{subject_id}/bewaarplicht"): (
            f"/personen/{NOWHERE}/bewaarplicht",
            protected(SUBJECT_REQUESTS, 404),
        ),
        ("POST", "/personen/{subject_id}/telefoon"): (
            f"/personen/{NOWHERE}/telefoon",
            protected(REVEAL, 404),
        ),
        ("GET", "/coordinatie"): ("/coordinatie", protected(ROUTE, 200)),
        # Without a signal chosen nothing is routed.
        ("POST", "/coordinatie/uitzetten"): ("/coordinatie/uitzetten", protected(ROUTE, 422)),
        ("GET", "/verwijzingen"): ("/verwijzingen", protected(DECIDE, 200)),
        ("POST", "/verwijzingen/{referral_id}/status"): (
            f"/verwijzingen/{NOWHERE}/status",
            protected(DECIDE, 404),
        ),
        ("GET", "/afspraken"): ("/afspraken", protected(VIEW_AGREEMENTS, 200)),
        ("POST", "/afspraken"): ("/afspraken", protected(MANAGE_AGREEMENTS, 422)),
        ("POST", "/afspraken/{agreement_id}/beeindigen"): (
            f"/afspraken/{NOWHERE}/beeindigen",
            protected(VIEW_AGREEMENTS, 404),
        ),
        ("GET", "/noodprocedure"): ("/noodprocedure", protected(EMERGENCY, 200)),
        ("POST", "/noodprocedure"): ("/noodprocedure", protected(EMERGENCY, 422)),
        ("GET", "/api/v1/signals"): ("/api/v1/signals", protected(VIEW_SIGNALS, 200, api=True)),
        # A form body where JSON is expected: refused as invalid once the guard let it in.
        ("POST", "/api/v1/signals"): (
            "/api/v1/signals",
            protected(CREATE_SIGNALS, 422, api=True),
        ),
        ("GET", "/api/v1/signals/{signal_id}"): (
            f"/api/v1/signals/{NOWHERE}",
            protected(VIEW_SIGNALS, 404, api=True),
        ),
        ("GET", "/api/v1/subjects"): ("/api/v1/subjects", protected(VIEW_SUBJECTS, 200, api=True)),
        ("POST", "/api/v1/subjects"): (
            "/api/v1/subjects",
            protected(MANAGE_SUBJECTS, 422, api=True),
        ),
        ("GET", "/api/v1/subjects/{subject_id}"): (
            f"/api/v1/subjects/{NOWHERE}",
            protected(VIEW_SUBJECTS, 404, api=True),
        ),
        ("GET", "/api/v1/referrals"): ("/api/v1/referrals", protected(DECIDE, 200, api=True)),
        ("POST", "/api/v1/referrals"): ("/api/v1/referrals", protected(DECIDE, 422, api=True)),
        ("GET", "/api/v1/referrals/{referral_id}"): (
            f"/api/v1/referrals/{NOWHERE}",
            protected(DECIDE, 404, api=True),
        ),
        ("POST", "/api/v1/referrals/{referral_id}/transitions"): (
            f"/api/v1/referrals/{NOWHERE}/transitions",
            protected(DECIDE, 404, api=True),
        ),
        ("GET", "/api/v1/agreements"): (
            "/api/v1/agreements",
            protected(VIEW_AGREEMENTS, 200, api=True),
        ),
        ("POST", "/api/v1/agreements"): (
            "/api/v1/agreements",
            protected(MANAGE_AGREEMENTS, 422, api=True),
        ),
        ("GET", "/api/v1/agreements/{agreement_id}"): (
            f"/api/v1/agreements/{NOWHERE}",
            protected(VIEW_AGREEMENTS, 404, api=True),
        ),
        ("GET", "/contactverzoeken"): ("/contactverzoeken", protected(CONTACT, 200)),
        # Without a subject there is nothing to ask about: as a subject that does not exist.
        ("POST", "/contactverzoeken"): ("/contactverzoeken", protected(CONTACT, 404)),
        ("POST", "/contactverzoeken/{request_id}/antwoord"): (
            f"/contactverzoeken/{NOWHERE}/antwoord",
            protected(CONTACT, 404),
        ),
        ("GET", "/api/v1/contact-requests"): (
            "/api/v1/contact-requests",
            protected(CONTACT, 200, api=True),
        ),
        ("POST", "/api/v1/contact-requests"): (
            "/api/v1/contact-requests",
            protected(CONTACT, 422, api=True),
        ),
        ("POST", "/api/v1/contact-requests/{request_id}/answer"): (
            f"/api/v1/contact-requests/{NOWHERE}/answer",
            protected(CONTACT, 404, api=True),
        ),
        ("GET", "/beheer/organisatie"): ("/beheer/organisatie", protected(CONTACT_ROUTE, 200)),
        # An empty contact route is a valid choice: none.
        ("POST", "/beheer/organisatie"): ("/beheer/organisatie", protected(CONTACT_ROUTE, 303)),
        ("GET", "/bescherming"): ("/bescherming", protected(WATCHERS, 200)),
        ("POST", "/bescherming"): ("/bescherming", protected(WATCHERS, 422)),
        ("POST", "/bescherming/{watch_id}/beeindigen"): (
            f"/bescherming/{NOWHERE}/beeindigen",
            protected(WATCHERS, 404),
        ),
        ("GET", "/api/v1/watches"): ("/api/v1/watches", protected(WATCHERS, 200, api=True)),
        ("POST", "/api/v1/watches"): ("/api/v1/watches", protected(WATCHERS, 422, api=True)),
    }


def record_entries(
    for_roles: Callable[..., dict[str, int]],
) -> dict[tuple[str, str], tuple[str, dict[str, int], dict[str, int]]]:
    """RECORD_ROUTES entries: (path, status per role for the own organisation's record, for
    another organisation's). Another organisation's record is a 404 to whoever may do the
    action at all (exactly as a record that does not exist); empty forms are refused (422)."""
    return {
        ("GET", "/signalen/{signal_id}"): (
            "/signalen/{signal_id}",
            for_roles(VIEW_SIGNALS, 200),
            for_roles(VIEW_SIGNALS, 404),
        ),
        ("POST", "/signalen/{signal_id}/persoon"): (
            "/signalen/{signal_id}/persoon",
            for_roles(MANAGE_SUBJECTS, 422),
            for_roles(MANAGE_SUBJECTS, 404),
        ),
        ("POST", "/signalen/{signal_id}/delen"): (
            "/signalen/{signal_id}/delen",
            for_roles(SHARE, 422),
            for_roles(SHARE, 404),
        ),
        ("POST", "/signalen/{signal_id}/verwijzen"): (
            "/signalen/{signal_id}/verwijzen",
            for_roles(DECIDE, 422),
            for_roles(DECIDE, 404),
        ),
        ("GET", "/personen/{subject_id}"): (
            "/personen/{subject_id}",
            for_roles(VIEW_SUBJECTS, 200),
            for_roles(VIEW_SUBJECTS, 404),
        ),
        ("POST", "/personen/{subject_id}"): (
            "/personen/{subject_id}",
            for_roles(MANAGE_SUBJECTS, 422),
            for_roles(MANAGE_SUBJECTS, 404),
        ),
        # The access report of the own subject (its alias holds the marker); another
        # organisation's subject is not found. Without a ground and a confirmation nothing is
        # erased; without a choice no hold changes.
        ("GET", "/personen/{subject_id}/inzage"): (
            "/personen/{subject_id}/inzage",
            for_roles(SUBJECT_REQUESTS, 200),
            for_roles(SUBJECT_REQUESTS, 404),
        ),
        ("POST", "/personen/{subject_id}/verwijderen"): (
            "/personen/{subject_id}/verwijderen",
            for_roles(SUBJECT_REQUESTS, 422),
            for_roles(SUBJECT_REQUESTS, 404),
        ),
        ("POST", "/personen/{subject_id}/bewaarplicht"): (
            "/personen/{subject_id}/bewaarplicht",
            for_roles(SUBJECT_REQUESTS, 422),
            for_roles(SUBJECT_REQUESTS, 404),
        ),
        # The analyst may reveal an analysis's numbers but sees no subjects.
        ("POST", "/personen/{subject_id}/telefoon"): (
            "/personen/{subject_id}/telefoon",
            for_roles(REVEAL_SUBJECTS, 422),
            for_roles(REVEAL, 404),
        ),
        ("POST", "/verwijzingen/{referral_id}/status"): (
            "/verwijzingen/{referral_id}/status",
            for_roles(DECIDE, 422),
            for_roles(DECIDE, 404),
        ),
        ("POST", "/afspraken/{agreement_id}/beeindigen"): (
            "/afspraken/{agreement_id}/beeindigen",
            for_roles(MANAGE_AGREEMENTS, 422),
            for_roles(VIEW_AGREEMENTS, 404),
        ),
        ("GET", "/api/v1/signals/{signal_id}"): (
            "/api/v1/signals/{signal_id}",
            for_roles(VIEW_SIGNALS, 200),
            for_roles(VIEW_SIGNALS, 404),
        ),
        ("GET", "/api/v1/subjects/{subject_id}"): (
            "/api/v1/subjects/{subject_id}",
            for_roles(VIEW_SUBJECTS, 200),
            for_roles(VIEW_SUBJECTS, 404),
        ),
        ("GET", "/api/v1/referrals/{referral_id}"): (
            "/api/v1/referrals/{referral_id}",
            for_roles(DECIDE, 200),
            for_roles(DECIDE, 404),
        ),
        ("POST", "/api/v1/referrals/{referral_id}/transitions"): (
            "/api/v1/referrals/{referral_id}/transitions",
            for_roles(DECIDE, 422),
            for_roles(DECIDE, 404),
        ),
        ("GET", "/api/v1/agreements/{agreement_id}"): (
            "/api/v1/agreements/{agreement_id}",
            for_roles(VIEW_AGREEMENTS, 200),
            for_roles(VIEW_AGREEMENTS, 404),
        ),
        # A request sent to the organisation (by the receiver of its referral, with which it has
        # a hit/no-hit agreement): its users answer (an empty answer is refused); to anyone else,
        # also of the sending side's partners, it does not exist.
        ("POST", "/contactverzoeken/{request_id}/antwoord"): (
            "/contactverzoeken/{request_id}/antwoord",
            for_roles(CONTACT, 422),
            for_roles(CONTACT, 404),
        ),
        ("POST", "/api/v1/contact-requests/{request_id}/answer"): (
            "/api/v1/contact-requests/{request_id}/answer",
            for_roles(CONTACT, 422),
            for_roles(CONTACT, 404),
        ),
        # Without confirm=yes an own watch is not ended; another organisation's does not exist.
        ("POST", "/bescherming/{watch_id}/beeindigen"): (
            "/bescherming/{watch_id}/beeindigen",
            for_roles(WATCHERS, 422),
            for_roles(WATCHERS, 404),
        ),
    }


def seed_chain_records(
    session: Session,
    organisation: Organisation,
    user_id: int,
    receiver: Organisation,
    marker: str,
    pseudonym_key: str,
    contact_key: str,
) -> dict[str, str]:
    """One signal, subject (with a phone, a name and a birth date), referral (of the signal, to
    ``receiver``, which has no accounts), agreement (with ``receiver``, covering hit/no-hit) of
    ``organisation``, a contact request of ``receiver`` to it about the same person and a
    protective watch of it, every text holding ``marker``. Returns the path parameters naming
    them, zero-padded so that the matrix's "remove the requested id from the body" never eats
    digits of a marker."""
    kind = organisation.kind

    def acting(role: str) -> Actor:
        return Actor(user_id, "seed", organisation.id, kind, role, is_demo=False)

    now = datetime.now(UTC)
    coordinator = acting("care_coordinator")
    subject = subjects.create_subject(
        session,
        coordinator,
        subjects.SubjectDraft(
            alias=f"Alias {marker}",
            phones=["06-94320900"],
            first_name="Sanne",
            surname="van der Berg",
            birth_date=date(1990, 3, 14),
        ),
        pseudonym_key=pseudonym_key,
        contact_key=contact_key,
        ip=None,
    )
    signal = signals.register(
        session,
        coordinator,
        signals.SignalDraft(
            category="debt",
            municipality="Utrecht",
            observed_at=now - timedelta(hours=1),
            text=f"Synthetisch {marker}",
            subject_id=subject.id,
        ),
        pseudonym_key=pseudonym_key,
        ip=None,
    )
    referral = referrals.refer(
        session,
        coordinator,
        referrals.ReferralDraft(
            to_organisation_id=receiver.id,
            question=f"Vraag {marker}",
            basis="consent",
            purpose="Hulp",
        ),
        signal=signal,
        ip=None,
    )
    agreement = sharing.create_agreement(
        session,
        acting("administrator"),
        sharing.AgreementDraft(
            name=f"Convenant {marker}",
            parties=[organisation.id, receiver.id],
            categories=["*"],
            purpose="Signalen delen",
            legal_basis="Convenant art. 1",
            valid_from=now - timedelta(days=1),
            hit_no_hit=True,
        ),
        ip=None,
    )
    partner = Actor(user_id, "seed", receiver.id, receiver.kind, "care_coordinator", False)
    theirs = subjects.create_subject(
        session,
        partner,
        subjects.SubjectDraft(
            alias="Ontvangen persoon",
            first_name="Sanne",
            surname="vd Berg",
            birth_date=date(1990, 3, 14),
        ),
        pseudonym_key=pseudonym_key,
        contact_key=contact_key,
        ip=None,
    )
    request = contact_requests.send(
        session, partner, theirs, organisation.id, f"Verzoek {marker}", ip=None
    )
    watch = watches.register_watch(
        session,
        coordinator,
        watches.WatchDraft(f"Jongere {marker}", "06-94320901", "consent", now + timedelta(days=30)),
        pseudonym_key=pseudonym_key,
        ip=None,
    )
    return {
        "signal_id": f"{signal.id:09d}",
        "subject_id": f"{subject.id:09d}",
        "referral_id": f"{referral.id:09d}",
        "agreement_id": f"{agreement.id:09d}",
        "request_id": f"{request.id:09d}",
        "watch_id": f"{watch.id:09d}",
    }
