"""Authorisation: one function, :func:`allowed`, decides every action of every actor.

Roles and their actions are data (``chain/roles.json``), not code: each role has a Dutch and an
English label, the organisation kinds it fits and its list of actions. Routes and commands ask
``allowed(actor, action, resource)`` and never copy ownership checks of their own.

Every stored record belongs to one organisation; a :class:`Resource` carries it. A resource of
None asks whether the actor may perform the action at all (on records of her own organisation).

The rules, in order (deny by default):

1. ``public.view`` is allowed to everyone, also anonymous visitors (login page, health check).
2. An anonymous actor (None) may do nothing else.
3. The system actor (:data:`SYSTEM`: jobs and the command line, never the web) may do only the
   actions in :data:`SYSTEM_ACTIONS`, on a record of any organisation (rule 7 still holds).
4. An actor whose role is unknown may do nothing.
5. The action must be in the actor's role.
6. An action on a record of another organisation is refused, except the administrative actions
   (:data:`ADMINISTRATIVE_ACTIONS`: ``users.manage``, ``audit.view``, ``organisations.manage``)
   of a role with platform scope, the :data:`SHARED_ACTIONS` (reading, deciding on a referral)
   on a record shared with the actor's organisation (``Resource.shared_with``: a sharing
   agreement, an explicit share, a referral; computed by :mod:`signaal.chain.visibility`), and
   the :data:`EMERGENCY_ACTIONS` (reading) under the actor's own emergency access.
7. A data action (:data:`DATA_ACTIONS`: ``analysis.*``, ``contacts.reveal``, the chain's
   actions) on a record that
   belongs to no organisation is refused: a
   record nobody owns (or an id that names no record) is nobody's to see.
8. ``account.manage_own`` applies only to the actor's own user record.

Granting roles is data too: each role has a ``rank`` and the roles that may grant it
(``granted_by``). :func:`may_assign_role` and :func:`may_manage_user` decide, on top of
``allowed()``, who may give which role and change which account: only a role the data lets the
actor grant, of a rank not above her own, fitting the organisation's kind, and never to herself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from signaal.errors import ConfigurationError
from signaal.store.models import OrganisationKind

if TYPE_CHECKING:
    from signaal.store.models import User


class Action(StrEnum):
    """Everything an actor can be allowed to do. Documented in docs/roles.md."""

    PUBLIC_VIEW = "public.view"
    """See public pages: the login page, the health check, static assets."""
    VIEW_DASHBOARD = "dashboard.view"
    """See the start page with counts and the latest analysis run."""
    VIEW_ANALYSIS = "analysis.view"
    """See lists of networks and personas with their scores and reasons."""
    VIEW_ANALYSIS_DETAIL = "analysis.view_detail"
    """See one persona in full: its ads (title, text), movements and indicators."""
    REVEAL_CONTACTS = "contacts.reveal"
    """See one contact point of an analysis run in the clear, on screen, after stating a purpose
    (audited): for the roles that act on a number (call back, investigate)."""
    EXPORT_EVIDENCE = "analysis.export_evidence"
    """Export one persona or network of the own organisation's analysis as an evidence report
    (HTML or PDF, byte-reproducible, its SHA-256 audited): for a police file or a case
    conference. Contact points in it are revealed only with ``contacts.reveal`` as well."""
    VIEW_LOCAL_FIGURES = "local.view"
    """See aggregated figures of the own organisation's analysis for its municipality or region
    (ads and personas per week, the share with indicators, arrivals): counts only, no persona,
    no ad text, no contact point."""
    VIEW_LOCAL_PICTURE = "local.picture"
    """See "Mijn gemeente": the own organisation's analysis aggregated per municipality or region
    over the whole run (ads and personas per week, shares with indicators, arrivals, comparison
    with similar municipalities, a map): counts only, no persona, ad text or contact point."""
    VIEW_TRIAGE = "triage.view"
    """See the triage queue of the own organisation's analysis: personas and networks by risk,
    with their status, assignee and the decisions taken on them."""
    DECIDE_TRIAGE = "triage.decide"
    """Assign a triage item to a colleague, mark it reviewed, escalate it (with
    ``signals.create``: a signal for the chain) or dismiss it with a reason."""
    EXPORT_TRIAGE_LABELS = "triage.export_labels"
    """Export an organisation's triage decisions as labels for ``signaal calibrate``
    (``signaal triage labels``; the system actor only, no role has it)."""
    STORE_ANALYSIS = "analysis.store"
    """Store the results of an analysis run in the app store."""
    PURGE_ANALYSIS = "analysis.purge"
    """Delete analysis runs whose retention period has ended (the system only)."""
    INGEST_ADS = "ads.ingest"
    """Add ads to an organisation's ingested ads and analyse them (``signaal ingest`` and the
    worker's ``ingest-folder`` job; the system actor only, no role has it)."""
    MANAGE_USERS = "users.manage"
    """Create, change and deactivate users (of the own organisation unless platform scope)."""
    MANAGE_ORGANISATIONS = "organisations.manage"
    """Create and change partner organisations."""
    VIEW_AUDIT = "audit.view"
    """Read the audit log (of the own organisation unless platform scope)."""
    MANAGE_OWN_ACCOUNT = "account.manage_own"
    """Change the own password, language and second factor."""

    # Chain coordination (see docs/chain.md). Reads of another organisation's record are allowed
    # only when the record is shared with the actor's organisation (``Resource.shared_with``:
    # a sharing agreement, an explicit share, a referral) or under an emergency access.
    VIEW_SIGNALS = "signals.view"
    """See signals of the own organisation and those shared with it."""
    CREATE_SIGNALS = "signals.create"
    """Register a signal (a form on the phone, the ad monitor, the API)."""
    ROUTE_SIGNALS = "signals.route"
    """Route the region's new signals to a partner with a question (the care coordinator)."""
    VIEW_SUBJECTS = "subjects.view"
    """See a subject (alias, year-of-birth range, masked contact points) and its timeline."""
    MANAGE_SUBJECTS = "subjects.manage"
    """Create subjects from signals, confirm a suggested link, change alias and birth years."""
    VIEW_CASES = "cases.view"
    """See cases, their stage, history, contacts, tasks and assessments."""
    MANAGE_CASES = "cases.manage"
    """Open and move cases; log contacts, assessments, aangifte support and placements."""
    MANAGE_TASKS = "tasks.manage"
    """See, create, assign and finish the team's tasks (call back tomorrow, visit, ...)."""
    DECIDE_REFERRALS = "referrals.decide"
    """Accept or return a referral sent to the own organisation; refer or revoke own ones."""
    VIEW_SHELTERS = "shelters.view"
    """See the safe places of every shelter and how many are free (no data about persons)."""
    MANAGE_SHELTERS = "shelters.manage"
    """Keep the own organisation's shelters and their free places up to date."""
    MANAGE_PLACEMENTS = "placements.manage"
    """Offer someone a safe place and place her (also at night, on a phone)."""
    MANAGE_CONTROLS = "controls.manage"
    """Plan and record joint controls (police with an outreach worker)."""
    VIEW_AGREEMENTS = "agreements.view"
    """See the sharing agreements the own organisation is party to."""
    MANAGE_AGREEMENTS = "agreements.manage"
    """Record and end sharing agreements of the own organisation."""
    SHARE_RECORDS = "records.share"
    """Share one record of the own organisation with another organisation, with a reason."""
    EMERGENCY_ACCESS = "emergency.access"
    """Read a record of another organisation without agreement or share (noodprocedure): a
    reason is demanded, the access is short and the owner's log administrators are alerted."""
    VIEW_CHAIN_DASHBOARD = "chain.dashboard"
    """See the coordinator's dashboard: signals by source and municipality, cases by stage,
    overdue follow-ups, time from signal to first contact (counts, CSV export)."""
    REMIND_TASKS = "tasks.remind"
    """Remind the owners of due tasks (in the app and by e-mail): ``signaal chain remind``, the
    system actor only; no role has it."""
    SEND_CONTACT_REQUESTS = "contact_requests.send"
    """Ask the organisation of a hit to get in touch about a subject of the own organisation
    (never seeing its record), and follow the own organisation's requests and their answers."""
    ANSWER_CONTACT_REQUESTS = "contact_requests.answer"
    """See the contact requests sent to the own organisation and accept them (with a message:
    what is shared, how to reach her) or decline them."""
    MANAGE_CONTACT_ROUTE = "organisation.contact_route"
    """Set how other organisations reach the own organisation after a hit (a phone line or a
    functional mailbox)."""
    MANAGE_WATCHES = "watches.manage"
    """Register, list and end the own organisation's protective watches: the phone number of a
    vulnerable young person, with consent or a documented legal basis and an end date, kept
    pseudonymised only; its hits in stored ad analyses come as notifications."""
    CHECK_WATCHES = "watches.check"
    """Compare a stored analysis run with the protective watches and notify the organisations
    concerned (``signaal analyse --store``; the system actor only, no role has it)."""
    EXPIRE_WATCHES = "watches.expire"
    """Delete protective watches past their end date (``signaal chain expire-watches``; the
    system actor only, no role has it)."""
    MANAGE_API_TOKENS = "api_tokens.manage"
    """Create, list and revoke the API tokens of system integrations (``signaal api-tokens``;
    the system actor only, no role has it)."""
    HOLD_SUBJECTS = "subjects.legal_hold"
    """Put a legal hold on a subject of the own organisation, with a reason, or lift it: while
    it is on, retention keeps every record about her and erasure is refused."""
    REPORT_SUBJECTS = "subjects.access_report"
    """Export everything the own organisation holds about one of its subjects, for her access
    request (AVG art. 15): a JSON download, audited with counts."""
    ERASE_SUBJECTS = "subjects.erase"
    """Erase a subject of the own organisation with everything about her (erasure request, AVG
    art. 17), with a reason code; refused under a legal hold; audited with counts."""
    ENFORCE_RETENTION = "retention.enforce"
    """Delete the records whose retention period has ended (``signaal chain
    enforce-retention``; the system actor only, no role has it)."""
    WATCH_ITEMS = "watchlist.manage"
    """Watch a persona, a network or a contact point of the own organisation's analysis, see
    the own watches and their alerts (new municipality, region or persona in a stored run) and
    stop watching."""
    CHECK_WATCHLISTS = "watchlist.check"
    """Compare a stored analysis run with the watchlists of its organisation and write the
    alerts (``signaal analyse --store``; the system actor only, no role has it)."""
    MAIL_WATCHLIST_ALERTS = "watchlist.mail"
    """Tell the users of new watchlist alerts by e-mail, without any content (``signaal worker``
    job ``mail-alerts``; the system actor only, no role has it)."""
    SYNC_REMOTE_MATCHES = "matching.sync_remote"
    """Submit subjects' encodings to the cross-deployment match service, withdraw erased ones
    and store the hits it reports (``signaal chain sync-matches``; the system actor only, no
    role has it)."""


PUBLIC_ACTIONS = frozenset({Action.PUBLIC_VIEW})
# The only actions that may reach a record of another organisation, and only for a role with
# platform scope: administration of accounts, organisations and the audit log, never data.
ADMINISTRATIVE_ACTIONS = frozenset(
    {Action.MANAGE_USERS, Action.VIEW_AUDIT, Action.MANAGE_ORGANISATIONS}
)
# What the system actor (jobs, the command line) may do. Kept small on purpose: the system
# stores and purges analyses for organisations, it never reads them for anyone.
SYSTEM_ACTIONS = frozenset(
    {
        Action.STORE_ANALYSIS,
        Action.PURGE_ANALYSIS,
        Action.INGEST_ADS,
        # The command line is the operator's break-glass tool on the server: it creates
        # organisations and accounts (each audited as "system"), it never reads anyone's data.
        Action.MANAGE_ORGANISATIONS,
        Action.MANAGE_USERS,
        # The reminder job (``signaal chain remind``) marks due tasks reminded and queues
        # notifications and mails for their owners; it shows no one any record.
        Action.REMIND_TASKS,
        # Tokens of system integrations are issued on the server by the operator, never in the
        # web app: a token that could mint tokens would outlive every revocation.
        Action.MANAGE_API_TOKENS,
        # The protective watch's jobs: compare a stored run with the watches (which notifies the
        # watching organisations, never showing an ad) and delete watches past their end date.
        Action.CHECK_WATCHES,
        Action.EXPIRE_WATCHES,
        # The operator turns the organisation's triage decisions into calibration labels (ad
        # ids and true/false): no text, no contact point, nothing about a person is shown.
        Action.EXPORT_TRIAGE_LABELS,
        # Retention deletes what is past its period, counted per category; it shows no one any
        # record and keeps what is under a legal hold.
        Action.ENFORCE_RETENTION,
        # Watchlists: compare a stored run with the organisation's watches (writes alerts for
        # their users, shows no one anything) and mail "there is an alert" without content.
        Action.CHECK_WATCHLISTS,
        Action.MAIL_WATCHLIST_ALERTS,
        # The match service's sync sends encodings (never clear values) and withdrawals and
        # stores the hits the service names; it shows no one any record.
        Action.SYNC_REMOTE_MATCHES,
    }
)
# The chain's actions on records about persons.
CHAIN_ACTIONS = frozenset(
    {
        Action.VIEW_SIGNALS,
        Action.CREATE_SIGNALS,
        Action.ROUTE_SIGNALS,
        Action.VIEW_SUBJECTS,
        Action.MANAGE_SUBJECTS,
        Action.VIEW_CASES,
        Action.MANAGE_CASES,
        Action.MANAGE_TASKS,
        Action.REMIND_TASKS,
        Action.DECIDE_REFERRALS,
        Action.MANAGE_SHELTERS,
        Action.MANAGE_PLACEMENTS,
        Action.MANAGE_CONTROLS,
        Action.VIEW_AGREEMENTS,
        Action.MANAGE_AGREEMENTS,
        Action.SHARE_RECORDS,
        Action.EMERGENCY_ACCESS,
        Action.SEND_CONTACT_REQUESTS,
        Action.ANSWER_CONTACT_REQUESTS,
        Action.MANAGE_WATCHES,
        Action.CHECK_WATCHES,
        Action.EXPIRE_WATCHES,
        Action.HOLD_SUBJECTS,
        Action.REPORT_SUBJECTS,
        Action.ERASE_SUBJECTS,
        Action.ENFORCE_RETENTION,
        Action.SYNC_REMOTE_MATCHES,
    }
)
# Data actions: on a record that belongs to no organisation they are refused (rule 7).
DATA_ACTIONS = (
    frozenset(
        {
            Action.VIEW_ANALYSIS,
            Action.VIEW_ANALYSIS_DETAIL,
            Action.EXPORT_EVIDENCE,
            Action.STORE_ANALYSIS,
            Action.PURGE_ANALYSIS,
            Action.INGEST_ADS,
            Action.REVEAL_CONTACTS,
            Action.VIEW_TRIAGE,
            Action.DECIDE_TRIAGE,
            Action.VIEW_LOCAL_FIGURES,
            Action.VIEW_LOCAL_PICTURE,
            Action.EXPORT_TRIAGE_LABELS,
            Action.WATCH_ITEMS,
            Action.CHECK_WATCHLISTS,
            Action.MAIL_WATCHLIST_ALERTS,
        }
    )
    | CHAIN_ACTIONS
)
# The actions that reach a record of another organisation when the record is shared with the
# actor's organisation (``Resource.shared_with``): reading it, and deciding on a referral sent to
# her organisation. Never changing the record itself: the owner does that.
SHARED_ACTIONS = frozenset(
    {
        Action.VIEW_SIGNALS,
        Action.VIEW_SUBJECTS,
        Action.VIEW_CASES,
        Action.DECIDE_REFERRALS,
        Action.VIEW_AGREEMENTS,
        Action.MANAGE_CONTROLS,
    }
)
# The actions an emergency access (``Resource.emergency``) opens: reading only.
EMERGENCY_ACTIONS = frozenset({Action.VIEW_SIGNALS, Action.VIEW_SUBJECTS, Action.VIEW_CASES})

Scope = Literal["organisation", "platform"]


@dataclass(frozen=True)
class RoleDefinition:
    name: str
    label: Mapping[str, str]  # locale -> label, at least "nl" and "en"
    description: Mapping[str, str]
    organisation_kinds: frozenset[OrganisationKind] | None  # None: fits every kind
    scope: Scope
    actions: frozenset[Action]
    rank: int = 0  # a role is never granted by a role of lower rank
    granted_by: frozenset[str] = frozenset()  # the roles that may give this one

    def label_for(self, locale: str) -> str:
        return self.label.get(locale) or self.label["en"]

    def fits(self, kind: OrganisationKind) -> bool:
        return self.organisation_kinds is None or kind in self.organisation_kinds


@dataclass(frozen=True)
class Actor:
    """Who acts: a logged-in user, reduced to what authorisation and audit need, or the system
    itself (:data:`SYSTEM`, ``is_system``), which has no account and no organisation."""

    user_id: int
    email: str
    organisation_id: int
    organisation_kind: OrganisationKind | None  # None only for the system actor
    role: str
    is_demo: bool
    is_system: bool = False
    # The API token an integration acts with (``Authorization: Bearer``), None for a person.
    # A token actor has no account: its ``user_id`` is the negative token id (see
    # :func:`signaal.chain.api_tokens.token_actor`), its ``email`` names the token.
    token_id: int | None = None


SYSTEM = Actor(
    user_id=0,
    email="system",
    organisation_id=0,  # no organisation has id 0
    organisation_kind=None,
    role="system",
    is_demo=False,
    is_system=True,
)
"""The one actor of jobs and the command line (``signaal analyse --store``, ``signaal db
purge-expired``): allowed only :data:`SYSTEM_ACTIONS`, audited as ``system``. The web app never
acts as the system: its actors come from :func:`actor_for`."""


@dataclass(frozen=True)
class Resource:
    """What is acted on: ``kind`` (``"user"``, ``"persona"``, ``"audit"``, …), optional id and
    the organisation that owns it, as the store says (None: no organisation owns it, e.g. an id
    that names no record; data actions on it are refused)."""

    kind: str
    id: str | None = None
    organisation_id: int | None = None
    # Other organisations that may read the record (agreement, explicit share, referral, the
    # partner of a joint control), as :mod:`signaal.chain.visibility` computes from the store.
    shared_with: frozenset[int] = frozenset()
    # The actor holds an active emergency access to this record (reads only).
    emergency: bool = False


def _parse_role(name: str, raw: Mapping[str, object]) -> RoleDefinition:
    def text_map(key: str) -> Mapping[str, str]:
        value = raw.get(key)
        if not isinstance(value, dict) or not {"nl", "en"} <= value.keys():
            raise ConfigurationError(f"roles.json: role {name!r} needs {key} in 'nl' and 'en'")
        return MappingProxyType({str(k): str(v) for k, v in value.items()})

    actions_raw = raw.get("actions")
    if not isinstance(actions_raw, list):
        raise ConfigurationError(f"roles.json: role {name!r} needs a list of actions")
    try:
        actions = frozenset(Action(a) for a in actions_raw)
    except ValueError as exc:
        raise ConfigurationError(f"roles.json: role {name!r}: {exc}") from exc
    kinds_raw = raw.get("organisation_kinds")
    try:
        kinds = (
            None if kinds_raw is None else frozenset(OrganisationKind(k) for k in kinds_raw)  # type: ignore[attr-defined]
        )
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"roles.json: role {name!r}: {exc}") from exc
    scope = raw.get("scope")
    if scope not in ("organisation", "platform"):
        raise ConfigurationError(f"roles.json: role {name!r}: scope must be organisation|platform")
    rank = raw.get("rank")
    if not isinstance(rank, int) or isinstance(rank, bool) or rank < 0:
        raise ConfigurationError(f"roles.json: role {name!r}: rank must be a whole number >= 0")
    granted_by = raw.get("granted_by")
    if not isinstance(granted_by, list) or not all(isinstance(g, str) for g in granted_by):
        raise ConfigurationError(
            f"roles.json: role {name!r}: granted_by must be a list of role names"
        )
    return RoleDefinition(
        name=name,
        label=text_map("label"),
        description=text_map("description"),
        organisation_kinds=kinds,
        scope=scope,
        actions=actions,
        rank=rank,
        granted_by=frozenset(granted_by),
    )


def _check_grants(definitions: Mapping[str, RoleDefinition]) -> None:
    """Every granting role exists, manages users and is not of lower rank than what it grants,
    so that the data cannot contradict the rule "never above her own role"."""
    for name, definition in definitions.items():
        for granter in sorted(definition.granted_by):
            other = definitions.get(granter)
            if other is None:
                raise ConfigurationError(
                    f"roles.json: role {name!r}: granted_by names unknown role {granter!r}"
                )
            if Action.MANAGE_USERS not in other.actions:
                raise ConfigurationError(
                    f"roles.json: role {name!r}: granted_by role {granter!r} lacks "
                    f"{Action.MANAGE_USERS.value}"
                )
            if other.rank < definition.rank:
                raise ConfigurationError(
                    f"roles.json: role {name!r} (rank {definition.rank}) cannot be granted by "
                    f"{granter!r} of lower rank {other.rank}"
                )
            if definition.scope == "platform" and other.scope != "platform":
                raise ConfigurationError(
                    f"roles.json: role {name!r} has platform scope: {granter!r} cannot grant it"
                )


def parse_roles(data: Mapping[str, object]) -> Mapping[str, RoleDefinition]:
    """The roles of a roles.json document, checked (ConfigurationError naming role and field)."""
    raw_roles = data.get("roles")
    if not isinstance(raw_roles, dict) or not raw_roles:
        raise ConfigurationError("roles.json: needs an object 'roles'")
    parsed: dict[str, RoleDefinition] = {}
    for name, raw in raw_roles.items():
        if not isinstance(raw, dict):
            raise ConfigurationError(f"roles.json: role {name!r} must be an object")
        parsed[name] = _parse_role(name, raw)
    _check_grants(parsed)
    return MappingProxyType(parsed)


@lru_cache(maxsize=1)
def roles() -> Mapping[str, RoleDefinition]:
    """Every role by name, in the order of roles.json."""
    text = (resources.files("signaal.chain") / "roles.json").read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ConfigurationError("roles.json: must hold a JSON object")
    return parse_roles(data)


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        email=user.email,
        organisation_id=user.organisation_id,
        organisation_kind=user.organisation.kind,
        role=user.role,
        is_demo=user.is_demo,
    )


def is_data_action(action: Action) -> bool:
    """Whether ``action`` reads or writes analysis data (rule 7 of :func:`allowed`)."""
    return action in DATA_ACTIONS


def allowed(actor: Actor | None, action: Action, resource: Resource | None = None) -> bool:
    """May ``actor`` perform ``action`` on ``resource``? The one authorisation decision (the
    rules are in the module docstring)."""
    if action in PUBLIC_ACTIONS:
        return True
    if actor is None:
        return False
    ownerless = resource is not None and resource.organisation_id is None and is_data_action(action)
    if actor.is_system:
        return action in SYSTEM_ACTIONS and not ownerless
    role = roles().get(actor.role)
    if role is None or action not in role.actions:
        return False
    if ownerless:
        return False
    if (
        resource is not None
        and resource.organisation_id is not None
        and resource.organisation_id != actor.organisation_id
        and not (action in ADMINISTRATIVE_ACTIONS and role.scope == "platform")
        and not (action in SHARED_ACTIONS and actor.organisation_id in resource.shared_with)
        and not (action in EMERGENCY_ACTIONS and resource.emergency)
    ):
        return False
    return not (
        action is Action.MANAGE_OWN_ACCOUNT
        and resource is not None
        and resource.kind == "user"
        and resource.id is not None
        and resource.id != str(actor.user_id)
    )


def _may_grant(actor: Actor, role_name: str) -> bool:
    """The grant rule without the organisation: the data lets the actor's role give
    ``role_name`` and it is not above the actor's own rank."""
    target = roles().get(role_name)
    if actor.is_system:  # the operator's command line gives any role that exists
        return target is not None
    own = roles().get(actor.role)
    if own is None or target is None:
        return False
    return own.name in target.granted_by and target.rank <= own.rank


def may_assign_role(
    actor: Actor | None, role_name: str, organisation_kind: OrganisationKind | None = None
) -> bool:
    """Whether ``actor`` may give ``role_name`` to a user (of an organisation of
    ``organisation_kind``, when given): the role is one the data lets the actor's role grant
    (``granted_by``), of a rank not above the actor's own (an organisation administrator cannot
    create a platform administrator), and it fits the organisation's kind (a housing corporation
    has no analysts, so its administrator cannot create one)."""
    if not allowed(actor, Action.MANAGE_USERS):
        return False
    assert actor is not None
    if not _may_grant(actor, role_name):
        return False
    return organisation_kind is None or roles()[role_name].fits(organisation_kind)


def may_manage_user(actor: Actor | None, user: User) -> bool:
    """Whether ``actor`` may change ``user`` (role, activity, links, second factor): ``allowed()``
    lets her manage users of that organisation, the user is not herself, and the user's current
    role is one she could grant (an organisation administrator never touches a platform
    administrator). The role need not fit the organisation's kind: an account that should not
    exist there can still be deactivated."""
    if actor is None or (user.id == actor.user_id and not actor.is_system):
        return False
    resource = Resource("user", str(user.id), organisation_id=user.organisation_id)
    if not allowed(actor, Action.MANAGE_USERS, resource):
        return False
    return _may_grant(actor, user.role)
