"""The fixed vocabularies of chain coordination, with Dutch and English labels.

Stored as plain strings (a new value needs no migration); the services validate every value
against these tables and say which field was wrong. Labels are for the interface; codes are the
API's contract (extend them only by adding).

Signal categories are the person-level signals of families E and F of the indicator model
(``../shared/INDICATORS.md``), plus the ad monitor's escalation and a catch-all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Term:
    code: str
    nl: str
    en: str
    basis: str = ""  # the indicator it stands for (INDICATORS.md), if any

    def label(self, locale: str) -> str:
        return self.nl if locale == "nl" else self.en


def _table(*terms: Term) -> Mapping[str, Term]:
    return MappingProxyType({term.code: term for term in terms})


SIGNAL_CATEGORIES = _table(
    Term(
        "id_control", "Geen controle over paspoort of ID", "No control over ID or passport", "F01"
    ),
    Term("debt", "Schuld aan een derde", "Debt to a third party", "F02"),
    Term(
        "money_control",
        "Iemand anders beheert geld, advertenties of afspraken",
        "Someone else controls money, ads or appointments",
        "F03",
    ),
    Term("handler_present", "Begeleider of pooier aanwezig", "A handler is present", "F03"),
    Term(
        "sleeps_at_work",
        "Slaapt op de werkplek of kent het eigen adres niet",
        "Sleeps where she works or does not know her address",
        "F04",
    ),
    Term("injuries", "Verwondingen", "Injuries", "F05"),
    Term("fear", "Angst, schrik of 'eigendomstattoo'", "Fear or an 'ownership' tattoo", "F05"),
    Term("minor", "Vermoedelijk minderjarig", "Suspected minor", "E01"),
    Term(
        "loverboy",
        "Loverboysignalen (cadeaus, altijd bereikbaar, schoolverzuim)",
        "Loverboy signs (gifts, always reachable, school absence)",
        "F06",
    ),
    Term("missing_youth", "Vermiste jongere of weggelopen uit jeugdzorg", "Missing youth", "E03"),
    Term("ad_indicators", "Signalen uit advertenties", "Signals from ads (ad monitor)", "A-D"),
    Term("other", "Overig", "Other"),
)

SIGNAL_SOURCES = _table(
    Term("observation", "Eigen waarneming", "Own observation"),
    Term("outreach_visit", "Outreachbezoek", "Outreach visit"),
    Term("ad_monitor", "Advertentiemonitor", "Ad monitor"),
    Term("partner", "Melding van een partner", "Report by a partner"),
    Term("api", "Systeemkoppeling", "System integration"),
)

# Routing status of a signal.
SIGNAL_STATUSES = _table(
    Term("new", "Nieuw", "New"),
    Term("routed", "Uitgezet", "Routed"),
    Term("accepted", "Opgepakt", "Accepted"),
    Term("returned", "Teruggegeven", "Returned"),
    Term("closed", "Afgesloten", "Closed"),
)

CASE_STAGES = _table(
    Term("signal", "Signaal", "Signal"),
    Term("assessment", "Beoordeling", "Assessment"),
    Term("contact_made", "Contact gelegd", "Contact made"),
    Term("help_requested", "Hulpvraag", "Request for help"),
    Term("safe_place", "Veilige plek of opvang", "Safe place or shelter"),
    Term("aangifte_support", "Ondersteuning bij aangifte", "Support with aangifte"),
    Term("aftercare", "Nazorg", "Aftercare"),
    Term("closed", "Afgesloten", "Closed"),
)
# A case moves forward through the stages or back to an earlier one (contact is lost, help is
# asked again); "closed" needs a reason and can be reopened to "assessment".
CASE_STAGE_ORDER: tuple[str, ...] = tuple(CASE_STAGES)

REFERRAL_KINDS = _table(
    Term("routing", "Uitzetten door de zorgcoördinator", "Routing by the care coordinator"),
    Term("referral", "Verwijzing", "Referral"),
    Term("transfer", "Overdracht", "Transfer"),
)
REFERRAL_STATES = _table(
    Term("in_progress", "Lopend", "In progress"),
    Term("accepted", "Geaccepteerd", "Accepted"),
    Term("rejected", "Teruggegeven", "Rejected"),
    Term("done", "Afgerond", "Done"),
    Term("revoked", "Ingetrokken", "Revoked"),
)
# The one state machine of routings, referrals and transfers: state -> states it may go to.
REFERRAL_TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "in_progress": frozenset({"accepted", "rejected", "revoked"}),
        "accepted": frozenset({"done", "revoked"}),
        "rejected": frozenset(),
        "done": frozenset(),
        "revoked": frozenset(),
    }
)
# Who may take a transition: the receiving organisation decides, the sender revokes.
REFERRAL_RECEIVER_STATES: frozenset[str] = frozenset({"accepted", "rejected", "done"})
REFERRAL_SENDER_STATES: frozenset[str] = frozenset({"revoked"})
# Reasons are required for these transitions.
REFERRAL_REASON_REQUIRED: frozenset[str] = frozenset({"rejected", "revoked"})

REFERRAL_BASES = _table(
    Term("consent", "Toestemming van de persoon", "The person's consent"),
    Term("legal_basis", "Wettelijke grondslag", "Legal basis"),
)

CONTACT_KINDS = _table(
    Term("street", "Straatbezoek", "Street visit"),
    Term("workplace", "Bezoek op de werkplek", "Workplace visit"),
    Term("walk_in", "Inloop op het ontmoetingspunt", "Walk-in at the meeting point"),
    Term("phone", "Telefonisch", "Phone"),
    Term("joint_control", "Gezamenlijke controle", "Joint control"),
)

TASK_KINDS = _table(
    Term("call_back", "Terugbellen", "Call back"),
    Term("visit", "Bezoeken", "Visit"),
    Term("follow_up", "Opvolgen", "Follow up"),
)
TASK_STATUSES = _table(
    Term("open", "Open", "Open"),
    Term("done", "Gedaan", "Done"),
    Term("cancelled", "Vervallen", "Cancelled"),
)

PLACEMENT_STATES = _table(
    Term("offered", "Aangeboden", "Offered"),
    Term("placed", "Geplaatst", "Placed"),
    Term("declined", "Afgeslagen", "Declined"),
    Term("ended", "Beëindigd", "Ended"),
)
PLACEMENT_TRANSITIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "offered": frozenset({"placed", "declined"}),
        "placed": frozenset({"ended"}),
        "declined": frozenset(),
        "ended": frozenset(),
    }
)

AANGIFTE_PRESENCE = _table(
    Term("present", "Aanwezig bij het verhoor", "Present in the interview"),
    Term("waiting_outside", "Wachtte buiten", "Waiting outside"),
    Term("none", "Niet mee naar binnen", "Not present"),
)

VULNERABILITY_FACTORS = _table(
    Term("prior_trauma", "Eerder trauma", "Prior trauma"),
    Term(
        "intellectual_disability", "Licht verstandelijke beperking", "Mild intellectual disability"
    ),
    Term("youth_care_history", "Verleden in de jeugdzorg", "Youth-care history"),
    Term("near_adulthood", "Leeftijd rond 18", "Age close to 18"),
    Term("dependency", "Afhankelijkheid", "Dependency"),
    Term("language_barrier", "Taalbarrière", "Language"),
)


def label(table: Mapping[str, Term], code: str, locale: str) -> str:
    """The label of ``code`` in ``table`` (the code itself when it is unknown)."""
    term = table.get(code)
    return term.label(locale) if term else code
