"""Synthetic chain data for the demo: a living chain of partners, seeded and deterministic.

:func:`seed_chain_demo` fills the demo organisations (one of every kind, see
:data:`signaal.chain.accounts.DEMO_ORGANISATIONS`) with what a region's chain holds after some
months of work: a sharing agreement (convenant) among care coordination, outreach, police, GGD,
youth care and the shelter; pseudonymous subjects with phone numbers from unallocated blocks
(:mod:`signaal.synth.phones`) stored only as keyed pseudonyms, sealed values and masked forms;
signals of every category and source over the last months in the region's municipalities; cases
in every stage with their history; outreach contacts; tasks (some overdue); referrals in every
state with their transitions; shelters with places; placements; an aangifte support; a joint
control with each side's own part; vulnerability assessments; an explicit share.

Records are inserted through the models (the chain's services live elsewhere) but keep their
invariants: every record is owned by the organisation that made it, contacts of a subject belong
to a subject of the same organisation, referral states follow ``REFERRAL_TRANSITIONS`` with one
event per transition, placements follow ``PLACEMENT_TRANSITIONS``, no clear number is stored.

Sealed values are bound (AES-GCM associated data, :class:`signaal.privacy.sealing.Sealer`) to
their row exactly as the services bind them (``chain.subjects.seal_context``,
``chain.outreach.sealing_row``), so that the reveal pages open the demo's numbers.

The same seed and ``now`` give the same records; a second call finds the demo's agreement and
adds nothing.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signaal.chain import catalogue
from signaal.chain.outreach import sealing_row
from signaal.chain.subjects import seal_context
from signaal.geo import municipalities
from signaal.privacy.masking import masked_contact
from signaal.privacy.pseudonyms import pseudonym
from signaal.privacy.sealing import Sealer
from signaal.store.models import (
    AangifteSupport,
    Agreement,
    AgreementParty,
    Case,
    CaseEvent,
    JointControl,
    JointControlPart,
    Organisation,
    OrganisationKind,
    OutreachContact,
    Placement,
    RecordShare,
    Referral,
    ReferralEvent,
    Shelter,
    Signal,
    Subject,
    SubjectContact,
    Task,
    User,
    VulnerabilityAssessment,
    utcnow,
)
from signaal.synth.names import AD_NAMES
from signaal.synth.phones import NL, RO, phone_number

DEMO_SEED = 2026
DEMO_REGION = "Utrecht"
AGREEMENT_NAME = "Convenant Aanpak Mensenhandel Regio Midden (demo)"
AGREEMENT_KINDS: tuple[OrganisationKind, ...] = (
    OrganisationKind.CARE_COORDINATION,
    OrganisationKind.OUTREACH,
    OrganisationKind.POLICE,
    OrganisationKind.GGD,
    OrganisationKind.YOUTH_CARE,
    OrganisationKind.SHELTER,
)
# The organisations that register subjects and signals, with a weight.
REPORTERS: tuple[tuple[OrganisationKind, int], ...] = (
    (OrganisationKind.OUTREACH, 5),
    (OrganisationKind.CARE_COORDINATION, 3),
    (OrganisationKind.POLICE, 3),
    (OrganisationKind.YOUTH_CARE, 2),
    (OrganisationKind.GGD, 2),
    (OrganisationKind.HOUSING, 1),
    (OrganisationKind.MUNICIPALITY, 1),
)
# The kinds whose roles open cases and log contacts (housing and the municipality only report).
CASE_KINDS: frozenset[OrganisationKind] = frozenset(
    {
        OrganisationKind.OUTREACH,
        OrganisationKind.CARE_COORDINATION,
        OrganisationKind.POLICE,
        OrganisationKind.YOUTH_CARE,
        OrganisationKind.GGD,
    }
)
N_SUBJECTS = 28
N_SIGNALS = 72
MONTHS_BACK = 5
# Serials of demo numbers, far from those of the ad corpus (which counts up from 0).
PHONE_SERIAL_BASE = 9_000_000 % NL.size

SIGNAL_TEXTS: dict[str, str] = {
    "id_control": "Zegt dat haar paspoort 'bij een vriend' ligt; kon geen ID laten zien.",
    "debt": "Noemt een schuld voor reis en kamer die ze 'eerst moet afbetalen'.",
    "money_control": "Advertenties en afspraken lopen via een ander nummer dan het hare.",
    "handler_present": "Een man bleef in de auto wachten en belde tijdens het gesprek.",
    "sleeps_at_work": "Slaapt in de werkruimte; kende haar eigen adres niet.",
    "injuries": "Blauwe plekken op de armen, wilde er niet over praten.",
    "fear": "Schrok van elk geluid op de gang; tatoeage met een naam in de nek.",
    "minor": "Lijkt jonger dan de 19 jaar in de advertentie; spreekt over school.",
    "loverboy": "Nieuwe telefoon en dure cadeaus van een 'vriend'; verzuimt school.",
    "missing_youth": "Weggelopen uit de groep, gezien bij een hotel aan de snelweg.",
    "ad_indicators": "Advertentiemonitor: zelfde nummer in advertenties in drie steden.",
    "other": "Zorgen van een buurvrouw over veel wisselend bezoek 's nachts.",
}
CLOSED_REASONS = ("Hulp loopt via de huisarts en het wijkteam.", "Verhuisd naar het buitenland.")
LOCATIONS = ("Stationsgebied", "Parkeerplaats A2", "Hotel aan de ring", "Woning", "Ontmoetingspunt")


@dataclass
class ChainDemoSummary:
    """What :func:`seed_chain_demo` made (all zero when the demo chain was there already)."""

    created: bool
    counts: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        if not self.created:
            return "the demo chain was there already"
        return ", ".join(f"{count} {name}" for name, count in self.counts.items())


@dataclass
class _World:
    rng: random.Random
    now: datetime
    orgs: dict[OrganisationKind, Organisation]
    users: dict[OrganisationKind, list[User]]
    pseudonym_key: str
    sealer: Sealer
    counts: dict[str, int] = field(default_factory=dict)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def user_of(self, kind: OrganisationKind) -> int | None:
        users = self.users.get(kind) or []
        return users[0].id if users else None

    def ago(self, days: float, *, hours: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours)


def _weighted(
    rng: random.Random, options: Sequence[tuple[OrganisationKind, int]]
) -> OrganisationKind:
    kinds = [kind for kind, _ in options]
    weights = [weight for _, weight in options]
    return rng.choices(kinds, weights=weights, k=1)[0]


def _region_municipalities() -> list[str]:
    inside = [m.name for m in municipalities() if m.province == DEMO_REGION]
    return inside or [m.name for m in municipalities()[:12]]


def _other_municipalities() -> list[str]:
    return [m.name for m in municipalities() if m.province != DEMO_REGION][:40]


def _province_of(name: str) -> str | None:
    for m in municipalities():
        if m.name == name:
            return m.province
    return None


def _agreement(db: Session, world: _World) -> Agreement:
    categories = [code for code in catalogue.SIGNAL_CATEGORIES if code != "other"]
    agreement = Agreement(
        organisation_id=world.orgs[OrganisationKind.CARE_COORDINATION].id,
        name=AGREEMENT_NAME,
        purpose=(
            "Signalen van mensenhandel en uitbuiting in de regio delen, zodat slachtoffers "
            "snel hulp, opvang en bescherming krijgen (demo)."
        ),
        legal_basis=(
            "Convenant op grond van art. 6 lid 1 sub e AVG en art. 22 Wet politiegegevens; "
            "bijzondere persoonsgegevens alleen met art. 30 UAVG (demo)."
        ),
        categories=",".join(categories),
        valid_from=world.ago(400),
        valid_until=world.now + timedelta(days=3 * 365),
        created_at=world.ago(400),
        created_by_user_id=world.user_of(OrganisationKind.CARE_COORDINATION),
    )
    db.add(agreement)
    db.flush()
    for kind in AGREEMENT_KINDS:
        db.add(AgreementParty(agreement_id=agreement.id, organisation_id=world.orgs[kind].id))
    world.count("agreements")
    return agreement


def _subjects(db: Session, world: _World) -> list[Subject]:
    rng = world.rng
    names = rng.sample(AD_NAMES, N_SUBJECTS)
    subjects: list[Subject] = []
    for index, name in enumerate(names):
        kind = _weighted(rng, REPORTERS)
        born = world.now.year - rng.choice((16, 17, 18, 19, 21, 23, 26, 30))
        created = world.ago(rng.uniform(30, 30 * MONTHS_BACK))
        subject = Subject(
            organisation_id=world.orgs[kind].id,
            alias=f"{name} ({chr(65 + index % 26)}{index // 26 + 1})",
            birth_year_from=born - 1,
            birth_year_to=born + 1,
            created_at=created,
            updated_at=created,
            created_by_user_id=world.user_of(kind),
        )
        db.add(subject)
        subjects.append(subject)
    db.flush()
    for index, subject in enumerate(subjects):
        block = RO if index % 7 == 3 else NL
        number = phone_number(block, (PHONE_SERIAL_BASE + index * 7919) % block.size)
        name = pseudonym("phone", number, world.pseudonym_key)
        db.add(
            SubjectContact(
                subject_id=subject.id,
                pseudonym=name,
                kind="phone",
                sealed=world.sealer.seal(
                    number, run_id=0, pseudonym=seal_context(subject.id, name)
                ),
                masked=masked_contact("phone", number),
                added_at=subject.created_at,
            )
        )
    world.count("subjects", len(subjects))
    world.count("subject contacts", len(subjects))
    return subjects


def _subject_pseudonyms(db: Session, subject: Subject) -> str:
    rows = db.scalars(
        select(SubjectContact.pseudonym).where(SubjectContact.subject_id == subject.id)
    )
    return ",".join(sorted(rows))


def _signals(db: Session, world: _World, subjects: list[Subject]) -> list[Signal]:
    rng = world.rng
    categories = list(catalogue.SIGNAL_CATEGORIES)
    sources = list(catalogue.SIGNAL_SOURCES)
    statuses = list(catalogue.SIGNAL_STATUSES)
    inside = _region_municipalities()
    outside = _other_municipalities()
    by_org: dict[int, list[Subject]] = {}
    for own in subjects:
        by_org.setdefault(own.organisation_id, []).append(own)
    signals: list[Signal] = []
    for index in range(N_SIGNALS):
        # Every category and source at least once, then drawn.
        category = categories[index] if index < len(categories) else rng.choice(categories)
        source = sources[index % len(sources)] if index < 2 * len(sources) else rng.choice(sources)
        if index < 10:  # this month: the dashboard has something to show
            observed = world.ago(rng.uniform(0, min(world.now.day - 1 + 0.9, 25)))
        else:
            observed = world.ago(rng.uniform(1, 30 * MONTHS_BACK))
        kind = _weighted(rng, REPORTERS)
        organisation = world.orgs[kind]
        own_subjects = by_org.get(organisation.id, [])
        subject: Subject | None = (
            rng.choice(own_subjects) if own_subjects and rng.random() < 0.85 else None
        )
        municipality = rng.choice(inside) if rng.random() < 0.8 else rng.choice(outside)
        status = statuses[index % len(statuses)] if index < len(statuses) else rng.choice(statuses)
        signal = Signal(
            organisation_id=organisation.id,
            source=source,
            category=category,
            observed_at=observed,
            municipality=municipality,
            region=_province_of(municipality),
            text=SIGNAL_TEXTS.get(category, ""),
            subject_id=subject.id if subject else None,
            status=status,
            contact_pseudonyms=_subject_pseudonyms(db, subject) if subject else "",
            created_at=observed + timedelta(hours=rng.uniform(0.2, 20)),
            created_by_user_id=world.user_of(kind),
            updated_at=observed + timedelta(hours=rng.uniform(20, 48)),
        )
        db.add(signal)
        signals.append(signal)
    db.flush()
    world.count("signals", len(signals))
    return signals


def _stage_path(target: str) -> list[str]:
    order = list(catalogue.CASE_STAGE_ORDER)
    if target == "closed":
        return [*order[:3], "closed"]
    return order[: order.index(target) + 1]


def _cases(db: Session, world: _World, signals: list[Signal]) -> list[Case]:
    rng = world.rng
    stages = list(catalogue.CASE_STAGE_ORDER)
    case_orgs = {world.orgs[kind].id for kind in CASE_KINDS}
    with_subject = [
        s for s in signals if s.subject_id is not None and s.organisation_id in case_orgs
    ]
    first_per_subject: dict[int, Signal] = {}
    for signal in sorted(with_subject, key=lambda s: s.observed_at):
        assert signal.subject_id is not None
        first_per_subject.setdefault(signal.subject_id, signal)
    chosen = list(first_per_subject.values())[: len(stages) * 2]
    cases: list[Case] = []
    for index, signal in enumerate(chosen):
        target = stages[index % len(stages)]
        assert signal.subject_id is not None
        kind = next(k for k, o in world.orgs.items() if o.id == signal.organisation_id)
        opened = signal.observed_at + timedelta(hours=rng.uniform(2, 72))
        path = _stage_path(target)
        case = Case(
            organisation_id=signal.organisation_id,
            subject_id=signal.subject_id,
            stage=target,
            owner_user_id=world.user_of(kind),
            opened_at=opened,
            closed_at=None,
            closed_reason=None,
            signal_id=signal.id,
            created_by_user_id=world.user_of(kind),
            updated_at=opened,
        )
        db.add(case)
        db.flush()
        at = opened
        previous: str | None = None
        for stage in path:
            db.add(
                CaseEvent(
                    case_id=case.id,
                    organisation_id=case.organisation_id,
                    at=at,
                    user_id=case.owner_user_id,
                    kind="stage",
                    from_stage=previous,
                    to_stage=stage,
                    details=json.dumps({"stage": stage}),
                )
            )
            previous = stage
            at = min(at + timedelta(days=rng.uniform(1, 9)), world.now - timedelta(hours=1))
        case.updated_at = at
        if target == "closed":
            case.closed_at = at
            case.closed_reason = rng.choice(CLOSED_REASONS)
        cases.append(case)
    db.flush()
    world.count("cases", len(cases))
    world.count("case events", sum(len(_stage_path(c.stage)) for c in cases))
    return cases


def _assessments(db: Session, world: _World, cases: list[Case]) -> None:
    rng = world.rng
    made = 0
    for case in cases:
        if case.stage in ("signal", "closed"):
            continue
        for step in range(2 if case.stage in ("safe_place", "aftercare") else 1):
            at = case.opened_at + timedelta(days=1 + 10 * step)
            if at > world.now:
                break
            values = {
                code: (rng.random() < 0.4) if rng.random() < 0.8 else None
                for code in catalogue.VULNERABILITY_FACTORS
            }
            db.add(
                VulnerabilityAssessment(
                    case_id=case.id,
                    organisation_id=case.organisation_id,
                    at=at,
                    user_id=case.owner_user_id,
                    notes="Demo: beoordeling in het teamoverleg.",
                    **values,
                )
            )
            db.add(
                CaseEvent(
                    case_id=case.id,
                    organisation_id=case.organisation_id,
                    at=at,
                    user_id=case.owner_user_id,
                    kind="assessment",
                    details=json.dumps({"factors": sorted(k for k, v in values.items() if v)}),
                )
            )
            made += 1
    world.count("vulnerability assessments", made)


def _contacts(
    db: Session, world: _World, signals: list[Signal], cases: list[Case]
) -> list[OutreachContact]:
    """Contacts after signals: the outreach team's own on its subjects, and on cases."""
    rng = world.rng
    kinds = [k for k in catalogue.CONTACT_KINDS if k != "joint_control"]
    contacts: list[OutreachContact] = []
    case_by_signal = {c.signal_id: c for c in cases}
    case_orgs = {world.orgs[kind].id for kind in CASE_KINDS}
    for signal in signals:
        case = case_by_signal.get(signal.id)
        if signal.subject_id is None or signal.organisation_id not in case_orgs:
            continue
        if case is None and rng.random() < 0.5:
            continue
        delay = timedelta(
            hours=rng.choice((3, 8, 20, 30, 52, 75, 120, 200)) * rng.uniform(0.7, 1.3)
        )
        at = signal.observed_at + delay
        if at >= world.now:
            continue
        kind = next(k for k, o in world.orgs.items() if o.id == signal.organisation_id)
        contact = OutreachContact(
            organisation_id=signal.organisation_id,
            kind=rng.choice(kinds),
            at=at,
            municipality=signal.municipality,
            location=rng.choice(LOCATIONS),
            outcome="Demo: kort gesprek, folder gegeven, wil later terugbellen.",
            subject_id=signal.subject_id,
            case_id=case.id if case else None,
            signal_id=signal.id,
            next_contact_at=at + timedelta(days=rng.choice((2, 7, 14))),
            created_at=at,
            created_by_user_id=world.user_of(kind),
        )
        db.add(contact)
        contacts.append(contact)
    db.flush()
    with_phone = 0
    for index, contact in enumerate(contacts):
        if index % 3:
            continue
        number = phone_number(NL, (PHONE_SERIAL_BASE + 500_000 + index * 104_729) % NL.size)
        name = pseudonym("phone", number, world.pseudonym_key)
        contact.phone_pseudonym = name
        row, bound = sealing_row(contact.id)
        contact.phone_sealed = world.sealer.seal(number, run_id=row, pseudonym=bound)
        contact.phone_masked = masked_contact("phone", number)
        with_phone += 1
    world.count("outreach contacts", len(contacts))
    world.count("contacts with a phone number", with_phone)
    return contacts


def _tasks(db: Session, world: _World, contacts: list[OutreachContact], cases: list[Case]) -> None:
    rng = world.rng
    made = 0
    task_kinds = list(catalogue.TASK_KINDS)
    titles = {
        "call_back": "Terugbellen over afspraak bij de GGD",
        "visit": "Opnieuw langsgaan op de werkplek",
        "follow_up": "Navragen of de hulpvraag is opgepakt",
    }
    for index, contact in enumerate(contacts[:18]):
        kind_code = task_kinds[index % len(task_kinds)]
        due = contact.at + timedelta(days=rng.choice((1, 2, 5, 10, 40)))
        overdue = due < world.now
        status = "open" if index % 3 != 2 else rng.choice(("done", "cancelled"))
        org_kind = next(k for k, o in world.orgs.items() if o.id == contact.organisation_id)
        db.add(
            Task(
                organisation_id=contact.organisation_id,
                title=titles[kind_code],
                kind=kind_code,
                due_at=due,
                owner_user_id=world.user_of(org_kind),
                status=status,
                subject_id=contact.subject_id,
                case_id=contact.case_id,
                signal_id=contact.signal_id,
                contact_id=contact.id,
                created_at=contact.at,
                created_by_user_id=world.user_of(org_kind),
                done_at=(min(due, world.now) if status == "done" else None),
                reminded_at=(due if overdue and status == "open" else None),
            )
        )
        made += 1
    # Open tasks of the coordinator on cases, one overdue and one later.
    coordination = world.orgs[OrganisationKind.CARE_COORDINATION]
    own_cases = [c for c in cases if c.organisation_id == coordination.id] or cases[:1]
    for offset in (-3, 4):
        if not own_cases:
            break
        case = own_cases[0]
        db.add(
            Task(
                organisation_id=case.organisation_id,
                title="Casusoverleg voorbereiden",
                kind="follow_up",
                due_at=world.now + timedelta(days=offset),
                owner_user_id=case.owner_user_id,
                status="open",
                subject_id=case.subject_id,
                case_id=case.id,
                created_at=world.ago(7),
                created_by_user_id=case.owner_user_id,
            )
        )
        made += 1
    world.count("tasks", made)


def _referral_path(final: str) -> list[str]:
    """The states from ``in_progress`` to ``final`` along REFERRAL_TRANSITIONS."""
    paths = {
        "in_progress": ["in_progress"],
        "accepted": ["in_progress", "accepted"],
        "rejected": ["in_progress", "rejected"],
        "done": ["in_progress", "accepted", "done"],
        "revoked": ["in_progress", "accepted", "revoked"],
    }
    path = paths[final]
    for current, following in itertools.pairwise(path):
        assert following in catalogue.REFERRAL_TRANSITIONS[current]
    return path


def _referrals(db: Session, world: _World, signals: list[Signal], cases: list[Case]) -> None:
    rng = world.rng
    coordination = world.orgs[OrganisationKind.CARE_COORDINATION]
    targets = [
        world.orgs[OrganisationKind.OUTREACH],
        world.orgs[OrganisationKind.SHELTER],
        world.orgs[OrganisationKind.POLICE],
        world.orgs[OrganisationKind.YOUTH_CARE],
        world.orgs[OrganisationKind.GGD],
    ]
    states = list(catalogue.REFERRAL_STATES)
    kinds = list(catalogue.REFERRAL_KINDS)
    plans: list[tuple[Organisation, Organisation, Signal | None, Case | None]] = []
    own_signals = [s for s in signals if s.organisation_id == coordination.id]
    for index, routed in enumerate(own_signals[:6]):
        plans.append((coordination, targets[index % len(targets)], routed, None))
    for referred in cases[:6]:
        sender = next(o for o in world.orgs.values() if o.id == referred.organisation_id)
        receiver = next(o for o in targets if o.id != sender.id)
        plans.append((sender, receiver, None, referred))
    made = 0
    for index, (sender, receiver, signal, case) in enumerate(plans):
        final = states[index % len(states)]
        kind = "routing" if signal is not None else kinds[1 + index % 2]
        created = signal.observed_at if signal else case.opened_at if case else world.now
        created = created + timedelta(hours=rng.uniform(2, 30))
        consent = index % 2 == 0
        referral = Referral(
            organisation_id=sender.id,
            to_organisation_id=receiver.id,
            kind=kind,
            signal_id=signal.id if signal else None,
            subject_id=(signal.subject_id if signal else case.subject_id if case else None),
            case_id=case.id if case else None,
            question="Kunnen jullie contact leggen en kijken of er een hulpvraag is? (demo)",
            state=final,
            basis="consent" if consent else "legal_basis",
            legal_basis="" if consent else "Art. 6 lid 1 sub e AVG, convenant regio Midden",
            purpose="Hulp en bescherming van een mogelijk slachtoffer (demo).",
            reason="",
            # One in progress is past its due date: the dashboard counts it as overdue.
            due_at=(world.ago(2) if final == "in_progress" else created + timedelta(days=7)),
            created_at=created,
            created_by_user_id=world.user_of(sender.kind),
            updated_at=created,
        )
        db.add(referral)
        db.flush()
        at = created
        previous: str | None = None
        for state in _referral_path(final):
            reason = ""
            if state in catalogue.REFERRAL_REASON_REQUIRED:
                reason = (
                    "Geen capaciteit deze maand." if state == "rejected" else "Persoon is verhuisd."
                )
            db.add(
                ReferralEvent(
                    referral_id=referral.id,
                    at=at,
                    organisation_id=(
                        receiver.id if state in catalogue.REFERRAL_RECEIVER_STATES else sender.id
                    ),
                    from_state=previous,
                    to_state=state,
                    reason=reason,
                )
            )
            referral.reason = reason or referral.reason
            previous = state
            referral.updated_at = at
            at = min(at + timedelta(days=rng.uniform(0.5, 4)), world.now - timedelta(hours=1))
        made += 1
    world.count("referrals", made)


def _shelters_and_placements(db: Session, world: _World, cases: list[Case]) -> None:
    shelter_org = world.orgs[OrganisationKind.SHELTER]
    shelters = [
        Shelter(
            organisation_id=shelter_org.id,
            name=name,
            municipality=municipality,
            capacity=capacity,
            available_places=free,
            accepts_minors=minors,
            notes="Demo-opvang; adres alleen via de coördinator.",
            updated_at=world.ago(0, hours=hours),
            updated_by_user_id=world.user_of(OrganisationKind.SHELTER),
        )
        for name, municipality, capacity, free, minors, hours in (
            ("Opvang De Haven (demo)", "Utrecht", 12, 2, False, 3),
            ("Crisisopvang Het Anker (demo)", "Amersfoort", 6, 0, False, 9),
            ("Jongerenopvang De Brug (demo)", "Zeist", 8, 3, True, 20),
        )
    ]
    db.add_all(shelters)
    db.flush()
    coordination = world.orgs[OrganisationKind.CARE_COORDINATION]
    placed_cases = [c for c in cases if c.stage in ("safe_place", "aangifte_support", "aftercare")]
    others = [c for c in cases if c not in placed_cases]
    plans = [(c, "placed") for c in placed_cases[:2]]
    plans += [
        (c, state) for c, state in zip(others, ("offered", "declined", "ended"), strict=False)
    ]
    for index, (case, state) in enumerate(plans):
        offered = case.opened_at + timedelta(days=2)
        db.add(
            Placement(
                organisation_id=coordination.id,
                shelter_id=shelters[index % len(shelters)].id,
                case_id=case.id if case.organisation_id == coordination.id else None,
                subject_id=case.subject_id if case.organisation_id == coordination.id else None,
                state=state,
                offered_at=offered,
                placed_at=offered + timedelta(hours=5) if state in ("placed", "ended") else None,
                ended_at=offered + timedelta(days=20) if state == "ended" else None,
                notes="Demo-plaatsing.",
                created_by_user_id=world.user_of(OrganisationKind.CARE_COORDINATION),
            )
        )
    world.count("shelters", len(shelters))
    world.count("placements", len(plans))


def _aangifte(db: Session, world: _World, cases: list[Case]) -> None:
    target = [c for c in cases if c.stage in ("aangifte_support", "aftercare")]
    for case in target[:1]:
        db.add(
            AangifteSupport(
                organisation_id=case.organisation_id,
                case_id=case.id,
                at=case.opened_at + timedelta(days=6),
                accompanied_by_user_id=case.owner_user_id,
                accompanied_by="Demo-begeleider",
                presence="waiting_outside",
                police_unit="Team Mensenhandel Midden (demo)",
                follow_up="Terugkoppeling na het verhoor; vervolgafspraak gepland.",
                created_by_user_id=case.owner_user_id,
            )
        )
        world.count("aangifte supports")


def _joint_control(db: Session, world: _World) -> None:
    police = world.orgs[OrganisationKind.POLICE]
    outreach = world.orgs[OrganisationKind.OUTREACH]
    planned = world.ago(9, hours=-20)
    control = JointControl(
        organisation_id=police.id,
        partner_organisation_id=outreach.id,
        planned_at=planned,
        municipality="Utrecht",
        location="Hotels aan de ring (demo)",
        shared_notes=(
            "Samen langs drie adressen uit de advertentiemonitor; outreach voert het gesprek."
        ),
        created_at=world.ago(14),
        created_by_user_id=world.user_of(OrganisationKind.POLICE),
    )
    db.add(control)
    db.flush()
    db.add_all(
        [
            JointControlPart(
                control_id=control.id,
                organisation_id=police.id,
                notes="Eigen deel politie: geen aanhoudingen; kenteken genoteerd in eigen systeem.",
                updated_at=planned + timedelta(hours=4),
                updated_by_user_id=world.user_of(OrganisationKind.POLICE),
            ),
            JointControlPart(
                control_id=control.id,
                organisation_id=outreach.id,
                notes="Eigen deel outreach: twee vrouwen gesproken, één wil een afspraak.",
                updated_at=planned + timedelta(hours=5),
                updated_by_user_id=world.user_of(OrganisationKind.OUTREACH),
            ),
            OutreachContact(
                organisation_id=outreach.id,
                kind="joint_control",
                at=planned + timedelta(hours=1),
                municipality="Utrecht",
                location="Hotel aan de ring",
                outcome="Demo: gesprek tijdens de gezamenlijke controle.",
                joint_control_id=control.id,
                created_at=planned + timedelta(hours=1),
                created_by_user_id=world.user_of(OrganisationKind.OUTREACH),
            ),
        ]
    )
    world.count("joint controls")


def _share(db: Session, world: _World, subjects: list[Subject]) -> None:
    youth = world.orgs[OrganisationKind.YOUTH_CARE]
    coordination = world.orgs[OrganisationKind.CARE_COORDINATION]
    own = [s for s in subjects if s.organisation_id == youth.id]
    for subject in own[:1]:
        db.add(
            RecordShare(
                organisation_id=youth.id,
                to_organisation_id=coordination.id,
                record_type="subject",
                record_id=subject.id,
                reason="Bijna 18 en weggelopen: zorgcoördinatie sluit aan bij het overleg (demo).",
                shared_at=world.ago(12),
                shared_by_user_id=world.user_of(OrganisationKind.YOUTH_CARE),
            )
        )
        world.count("shares")


def seed_chain_demo(
    db: Session,
    *,
    pseudonym_key: str,
    contact_key: str,
    seed: int = DEMO_SEED,
    now: datetime | None = None,
) -> ChainDemoSummary:
    """Fill the demo organisations with a living chain (once: nothing happens when the demo's
    agreement exists). The organisations must exist (:func:`signaal.chain.accounts.seed_demo`)."""
    from signaal.chain.accounts import DEMO_ORGANISATIONS

    if db.scalar(select(Agreement.id).where(Agreement.name == AGREEMENT_NAME)) is not None:
        return ChainDemoSummary(created=False)
    orgs: dict[OrganisationKind, Organisation] = {}
    for kind, name in DEMO_ORGANISATIONS.items():
        organisation = db.scalar(select(Organisation).where(Organisation.name == name))
        if organisation is None:
            raise LookupError(f"demo organisation {name!r} is missing: seed the demo first")
        if organisation.region is None:
            organisation.region = DEMO_REGION
        orgs[kind] = organisation
    users: dict[OrganisationKind, list[User]] = {}
    for kind, organisation in orgs.items():
        users[kind] = list(
            db.scalars(
                select(User)
                .where(User.organisation_id == organisation.id, User.is_active.is_(True))
                .order_by(User.id)
            )
        )
    now = (now or utcnow()).replace(microsecond=0)
    world = _World(
        rng=random.Random(seed),  # noqa: S311  (synthetic data, not secrets)
        now=now,
        orgs=orgs,
        users=users,
        pseudonym_key=pseudonym_key,
        sealer=Sealer(contact_key),
    )
    _agreement(db, world)
    subjects = _subjects(db, world)
    signals = _signals(db, world, subjects)
    cases = _cases(db, world, signals)
    _assessments(db, world, cases)
    contacts = _contacts(db, world, signals, cases)
    _tasks(db, world, contacts, cases)
    _referrals(db, world, signals, cases)
    _shelters_and_placements(db, world, cases)
    _aangifte(db, world, cases)
    _joint_control(db, world)
    _share(db, world, subjects)
    db.flush()
    return ChainDemoSummary(created=True, counts=dict(world.counts))
