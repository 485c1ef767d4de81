"""The audit log: typed events, one sink, an append-only hash chain.

Every auditable action is a small frozen dataclass below (``LoginFailed``, ``PersonaViewed``, …)
with a stable ``action`` name. :func:`record` is the one place that writes them: it appends a row
to ``audit_events`` in the caller's transaction, so the event is stored if and only if the action
is.

The chain
---------
Each row holds ``prev_hash`` (the hash of the row before it; 64 zeros for the first row) and
``hash`` = HMAC-SHA256 with the audit key (``settings.audit_key``, never in the database) over a
canonical JSON object (sorted keys, no spaces, UTF-8) of the row's content: ``at`` (ISO 8601,
UTC, microseconds), ``actor_user_id``, ``actor_email``, ``organisation_id``, ``action``,
``record_type``, ``record_id``, ``purpose``, ``ip``, ``details`` (the stored JSON text) and
``prev_hash``. ``scheme`` says how the hash was made: ``"hmac-sha256"``, or ``"sha256"``
(unkeyed) for rows written before migration 0002; an unkeyed row after a keyed one is a
forgery. The sequence number is *not* hashed: a row's place is protected by the links, so a row
that is moved, removed or slipped in breaks a link, and :func:`verify` can say which happened.

A single chain-head row (``audit_chain_head``) holds the last sequence number and hash. Every
append starts with ``UPDATE audit_chain_head … RETURNING`` (a row lock on PostgreSQL; the database
write lock on SQLite), so concurrent writers queue up and can never fork the chain, and
verification notices rows removed from the end.

The key reaches :func:`record` with the session: ``signaal.store.db.session_factory(engine,
audit_key=...)`` puts it in ``Session.info`` (the web app and the CLI do); a session without one
uses the key of the process's settings.

Checkpoints and anchors
-----------------------
A successful :func:`verify` adds a checkpoint (``audit_checkpoints``: the row's seq and a keyed
tag of its hash); the next verification may start there instead of at the first row. An anchor
(:func:`make_anchor`) is an RFC 6962 Merkle tree head over the entries, signed with an Ed25519
key derived from the audit key and exported out of the database; :func:`check_anchor` proves
that the first ``tree_size`` entries are still exactly those it covered.

What this proves: whoever can write the database but lacks the audit key cannot add, change or
rewrite rows unnoticed (they cannot compute a keyed hash); removing rows from the end together
with the head is found against the latest checkpoint that survives and against every exported
anchor. Someone who holds the audit key as well can do anything after the last exported anchor;
anchors kept elsewhere are the defence there. See docs/audit.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeVar, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import ColumnElement, Select, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, make_transient_to_detached

from signaal.errors import AuditIntegrityError, ConfigurationError, InputError, StoreError
from signaal.settings import get_settings
from signaal.store.db import AUDIT_KEY_INFO, database_problem
from signaal.store.models import AuditChainHead, AuditCheckpoint, AuditEvent

if TYPE_CHECKING:
    from signaal.chain.authz import Actor

GENESIS_HASH = "0" * 64
CHAIN_HEAD_ID = 1


# ----------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class AuditEventBase:
    """Base of every audit event. Subclasses set ``action`` and name their record.

    ``record_type`` says what kind of record the event is about (``"user"``, ``"persona"``, …);
    ``record_id_field`` names the field that identifies it. All fields go into ``details``.
    """

    action: ClassVar[str] = ""
    record_type: ClassVar[str | None] = None
    record_id_field: ClassVar[str | None] = None

    @property
    def record_id(self) -> str | None:
        if self.record_id_field is None:
            return None
        value = getattr(self, self.record_id_field)
        return None if value is None else str(value)

    @property
    def purpose(self) -> str | None:
        """The purpose the event carries itself; :func:`record` may give one too."""
        return None

    @property
    def details(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class LoginSucceeded(AuditEventBase):
    """The password was right; ``second_factor_required`` says whether TOTP must follow."""

    action: ClassVar[str] = "login.succeeded"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    second_factor_required: bool


@dataclass(frozen=True)
class LoginFailed(AuditEventBase):
    """A login was refused. ``reason`` is for the audit reader only, never shown to the user."""

    action: ClassVar[str] = "login.failed"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    email: str
    # "unknown_user" | "wrong_password" | "inactive" | "demo_outside_development" |
    # "password_not_set" (the account's password was not set by its user: she needs a link)
    reason: str
    user_id: int | None = None


@dataclass(frozen=True)
class LoginRateLimited(AuditEventBase):
    """A login was refused because of too many recent failures for the account or address."""

    action: ClassVar[str] = "login.rate_limited"
    record_type: ClassVar[str | None] = "user"
    email: str
    scope: Literal["account", "address"]
    factor: str = "password"


@dataclass(frozen=True)
class SecondFactorPassed(AuditEventBase):
    action: ClassVar[str] = "login.second_factor_passed"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int


@dataclass(frozen=True)
class SecondFactorFailed(AuditEventBase):
    action: ClassVar[str] = "login.second_factor_failed"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    reason: str  # "wrong_code" | "replayed_code" | "not_enrolled"


@dataclass(frozen=True)
class SecondFactorEnrolled(AuditEventBase):
    action: ClassVar[str] = "account.second_factor_enrolled"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int


@dataclass(frozen=True)
class Logout(AuditEventBase):
    action: ClassVar[str] = "logout"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int


@dataclass(frozen=True)
class OrganisationCreated(AuditEventBase):
    action: ClassVar[str] = "organisation.created"
    record_type: ClassVar[str | None] = "organisation"
    record_id_field: ClassVar[str | None] = "organisation_id"
    organisation_id: int
    name: str
    kind: str


@dataclass(frozen=True)
class UserCreated(AuditEventBase):
    action: ClassVar[str] = "user.created"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    email: str
    role: str
    organisation_id: int
    is_demo: bool = False


@dataclass(frozen=True)
class UserChanged(AuditEventBase):
    """A user's role, activity or second factor was changed by an administrator."""

    action: ClassVar[str] = "user.changed"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    changes: dict[str, list[object]] = field(default_factory=dict)  # field -> [old, new]


@dataclass(frozen=True)
class EnrolmentIssued(AuditEventBase):
    """A one-time link for a user to set her own password (and second factor) was made.
    ``link_purpose`` is "enrol" (a new account) or "reset" (the old password stops working).
    The link's token is never recorded."""

    action: ClassVar[str] = "account.enrolment_issued"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    link_purpose: str
    expires_at: str  # ISO time


@dataclass(frozen=True)
class EnrolmentCompleted(AuditEventBase):
    """A user set her own password through a one-time link (which is now used)."""

    action: ClassVar[str] = "account.enrolment_completed"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    link_purpose: str


@dataclass(frozen=True)
class PasswordChanged(AuditEventBase):
    """A user changed her own password (with the old one and the second factor); her other
    sessions ended."""

    action: ClassVar[str] = "account.password_changed"
    record_type: ClassVar[str | None] = "user"
    record_id_field: ClassVar[str | None] = "user_id"
    user_id: int
    sessions_ended: int = 0


@dataclass(frozen=True)
class AnalysisStored(AuditEventBase):
    action: ClassVar[str] = "analysis.stored"
    record_type: ClassVar[str | None] = "analysis_run"
    record_id_field: ClassVar[str | None] = "run_id"
    run_id: int
    source: str
    n_ads: int
    n_personas: int
    n_networks: int
    n_quarantined: int


@dataclass(frozen=True)
class AdsIngested(AuditEventBase):
    """Ads were added to an organisation's ingested ads (``signaal ingest``)."""

    action: ClassVar[str] = "ads.ingested"
    record_type: ClassVar[str | None] = "ingested_ads"
    source: str
    n_new: int  # ads not seen before
    n_versions: int  # known ads with new content
    n_seen_again: int  # known ads, same content
    n_quarantined: int


@dataclass(frozen=True)
class IngestedAdsPurged(AuditEventBase):
    """Ingested ads past their retention date were deleted."""

    action: ClassVar[str] = "ads.purged"
    record_type: ClassVar[str | None] = "ingested_ads"
    n_deleted: int
    before: str  # ISO time: ads that expired before this moment


@dataclass(frozen=True)
class AnalysisPurged(AuditEventBase):
    """Analysis runs past their retention date were deleted."""

    action: ClassVar[str] = "analysis.purged"
    record_type: ClassVar[str | None] = "analysis_run"
    run_ids: tuple[int, ...]
    before: str  # ISO time: runs that expired before this moment


@dataclass(frozen=True)
class RetentionEnforced(AuditEventBase):
    """One run of retention (``signaal chain enforce-retention``): per record category, how
    many records were past their period and deleted (in a dry run: would be). Counts only,
    never a record's content or id."""

    action: ClassVar[str] = "retention.enforced"
    record_type: ClassVar[str | None] = "retention"
    counts: dict[str, int]
    dry_run: bool
    now: str  # ISO time the periods were counted back from


@dataclass(frozen=True)
class SubjectAccessReported(AuditEventBase):
    """Everything the organisation holds about a subject was exported for her access request
    (AVG art. 15): the record kinds and their counts, never their content."""

    action: ClassVar[str] = "subject.access_reported"
    record_type: ClassVar[str | None] = "subject"
    record_id_field: ClassVar[str | None] = "subject_id"
    subject_id: int
    role: str
    on_behalf_of: int | None
    counts: dict[str, int]


@dataclass(frozen=True)
class SubjectErased(AuditEventBase):
    """A subject was erased with everything about her (erasure request, AVG art. 17): the
    reason code and, per record kind, how many rows were deleted; nothing of their content."""

    action: ClassVar[str] = "subject.erased"
    record_type: ClassVar[str | None] = "subject"
    record_id_field: ClassVar[str | None] = "subject_id"
    subject_id: int
    reason: str  # a code of signaal.chain.data_requests.ERASURE_REASONS
    role: str
    on_behalf_of: int | None
    counts: dict[str, int]


@dataclass(frozen=True)
class AnalysisViewed(AuditEventBase):
    """An overview of a run (networks, personas) was shown."""

    action: ClassVar[str] = "analysis.viewed"
    record_type: ClassVar[str | None] = "analysis_run"
    record_id_field: ClassVar[str | None] = "run_id"
    run_id: int
    view: str = "overview"


@dataclass(frozen=True)
class NetworkViewed(AuditEventBase):
    action: ClassVar[str] = "analysis.network_viewed"
    record_type: ClassVar[str | None] = "network"
    record_id_field: ClassVar[str | None] = "network_id"
    run_id: int
    network_id: str


@dataclass(frozen=True)
class PersonaViewed(AuditEventBase):
    """The details of one persona (its ads and movements) were shown."""

    action: ClassVar[str] = "analysis.persona_viewed"
    record_type: ClassVar[str | None] = "persona"
    record_id_field: ClassVar[str | None] = "persona_id"
    run_id: int
    persona_id: str


@dataclass(frozen=True)
class TriageViewed(AuditEventBase):
    """A page of the triage queue was shown: which kind, which filters, which ids."""

    action: ClassVar[str] = "triage.viewed"
    record_type: ClassVar[str | None] = "analysis_run"
    record_id_field: ClassVar[str | None] = "run_id"
    run_id: int
    kind: str
    filters: dict[str, str]
    shown: tuple[str, ...]


@dataclass(frozen=True)
class TriageDecided(AuditEventBase):
    """A decision on a triage item (assigned, reviewed, escalated, dismissed). The reason of a
    dismissal is kept with the decision, not here: the audit log holds no free text."""

    action: ClassVar[str] = "triage.decided"
    record_type: ClassVar[str | None] = "triage_item"
    record_id_field: ClassVar[str | None] = "item_id"
    run_id: int
    kind: str
    item_id: str
    decision: str
    assigned_to_user_id: int | None = None
    signal_id: int | None = None


@dataclass(frozen=True)
class TriageLabelsExported(AuditEventBase):
    """An organisation's triage decisions were written as calibration labels (ad ids and
    true/false) by the operator's command line."""

    action: ClassVar[str] = "triage.labels_exported"
    record_type: ClassVar[str | None] = "organisation"
    record_id_field: ClassVar[str | None] = "organisation_id"
    organisation_id: int
    n_decisions: int
    n_ads: int
    sha256: str


@dataclass(frozen=True)
class LocalPictureViewed(AuditEventBase):
    """ "Mijn gemeente" of a run was shown for one area (counts only: no id, text or contact
    point is shown, so the event names the area, not persons)."""

    action: ClassVar[str] = "local_picture.viewed"
    record_type: ClassVar[str | None] = "analysis_run"
    record_id_field: ClassVar[str | None] = "run_id"
    run_id: int
    area_kind: str
    area: str


@dataclass(frozen=True)
class LocalPictureExported(AuditEventBase):
    """One table of "Mijn gemeente" was downloaded as CSV: which area, which table, how many
    rows and the file's SHA-256."""

    action: ClassVar[str] = "local_picture.exported"
    record_type: ClassVar[str | None] = "analysis_run"
    record_id_field: ClassVar[str | None] = "run_id"
    run_id: int
    area_kind: str
    area: str
    table: str
    n_rows: int
    sha256: str


@dataclass(frozen=True)
class ControlVisitListExported(AuditEventBase):
    """The visit list of a joint control was downloaded as CSV: which control, how many rows,
    whether the file holds contact pseudonyms (the planner's) and its SHA-256. Never the
    content."""

    action: ClassVar[str] = "joint_control.visit_list_exported"
    record_type: ClassVar[str | None] = "joint_control"
    record_id_field: ClassVar[str | None] = "control_id"
    control_id: int
    n_rows: int
    pseudonyms: bool
    sha256: str


@dataclass(frozen=True)
class WatchlistWatchCreated(AuditEventBase):
    """A user started watching a persona, network or contact point of her organisation's
    analysis. ``item_id`` names a persona or network; for a contact point it is None (the event
    never holds a contact point, not even its pseudonym)."""

    action: ClassVar[str] = "watchlist.watch_created"
    record_type: ClassVar[str | None] = "watchlist_watch"
    record_id_field: ClassVar[str | None] = "watch_id"
    watch_id: int
    kind: str
    item_id: str | None = None


@dataclass(frozen=True)
class WatchlistWatchEnded(AuditEventBase):
    """A user stopped one of her watches."""

    action: ClassVar[str] = "watchlist.watch_ended"
    record_type: ClassVar[str | None] = "watchlist_watch"
    record_id_field: ClassVar[str | None] = "watch_id"
    watch_id: int
    kind: str


@dataclass(frozen=True)
class WatchlistViewed(AuditEventBase):
    """A user saw her watches and their alerts (the ids of the watches shown)."""

    action: ClassVar[str] = "watchlist.viewed"
    record_type: ClassVar[str | None] = "watchlist_watch"
    shown_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class WatchlistChecked(AuditEventBase):
    """A stored run was compared with its organisation's watches: how many watches, how many
    alerts were written (counts only)."""

    action: ClassVar[str] = "watchlist.checked"
    record_type: ClassVar[str | None] = "analysis_run"
    record_id_field: ClassVar[str | None] = "run_id"
    run_id: int
    n_watches: int
    n_alerts: int


@dataclass(frozen=True)
class WatchlistAlertMailed(AuditEventBase):
    """The user of a watch was told by e-mail that it has new alerts (the mail holds no content:
    the event names the watch, the user and how many alerts, never an address or item)."""

    action: ClassVar[str] = "watchlist.alert_mailed"
    record_type: ClassVar[str | None] = "watchlist_watch"
    record_id_field: ClassVar[str | None] = "watch_id"
    watch_id: int
    user_id: int
    n_alerts: int


@dataclass(frozen=True)
class EvidenceExported(AuditEventBase):
    """One persona or network was exported as an evidence report (HTML or PDF): which item of
    which run, the format and language, how many ads and revealed contact points it holds and
    the SHA-256 of the bytes served. Never the content."""

    action: ClassVar[str] = "evidence.exported"
    record_type: ClassVar[str | None] = "evidence"
    record_id_field: ClassVar[str | None] = "item_id"
    run_id: int
    kind: str  # "persona" or "network"
    item_id: str
    format: str  # "html" or "pdf"
    lang: str
    n_ads: int
    n_revealed: int
    sha256: str


@dataclass(frozen=True)
class ContactPointRevealed(AuditEventBase):
    """One contact point of a run was shown in the clear, on screen, for a purpose (given to
    :func:`record`). The event holds the pseudonym, never the value."""

    action: ClassVar[str] = "contact_point.revealed"
    record_type: ClassVar[str | None] = "contact_point"
    record_id_field: ClassVar[str | None] = "pseudonym"
    run_id: int
    pseudonym: str
    persona_id: str | None = None


@dataclass(frozen=True)
class ChainRecordRead(AuditEventBase):
    """A chain record about a person was read (NEN 7513): the event (``action`` and ``view``),
    the time and user (the row's own fields), the subject it is about (``subject_id``, None when
    the record names no subject yet), the user's role, on whose behalf (her organisation, or the
    organisation whose integration token was used) and the purpose (the ground of the read:
    own work, an agreement's purpose, a share's reason, a referral's purpose or an emergency's
    reason, given to :func:`record` as ``purpose``). Lists write one event per list with the ids
    shown."""

    action: ClassVar[str] = "chain.record_read"
    record_type: ClassVar[str | None] = "chain"
    record_id_field: ClassVar[str | None] = "record_key"
    record_kind: str  # signal, subject, case, referral, task, contact, ...
    record_key: str | None  # the record's id
    subject_id: int | None
    role: str
    on_behalf_of: int | None  # organisation id
    basis: str  # own | agreement | share | referral | joint_control | placement | emergency
    view: str = "detail"
    shown_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChainRecordWritten(AuditEventBase):
    """A chain record was created or changed: what (``record_kind``, ``record_key``), how
    (``change``: created, stage, transition, shared, ...), the subject it concerns and the fields
    that changed (names and codes only, never free text or contact points)."""

    action: ClassVar[str] = "chain.record_written"
    record_type: ClassVar[str | None] = "chain"
    record_id_field: ClassVar[str | None] = "record_key"
    record_kind: str
    record_key: str  # the record's id
    change: str
    subject_id: int | None = None
    role: str = ""
    on_behalf_of: int | None = None
    fields: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class FreeTextIdentifiers(AuditEventBase):
    """A free text in which identifiers were found was saved after the user's explicit choice
    (``choice``: ``pseudonymised`` or ``as_written``): the record and field, and how many of
    each category were found (``categories``); never the text or a found value."""

    action: ClassVar[str] = "privacy.free_text_identifiers"
    record_type: ClassVar[str | None] = "chain"
    record_id_field: ClassVar[str | None] = "record_key"
    record_kind: str
    record_key: str
    text_field: str
    choice: str
    categories: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class EmergencyAccessStarted(AuditEventBase):
    """A user started an emergency access (noodprocedure) to another organisation's record; its
    log administrators were alerted. The reason is the event's purpose."""

    action: ClassVar[str] = "chain.emergency_access"
    record_type: ClassVar[str | None] = "chain"
    record_id_field: ClassVar[str | None] = "record_key"
    record_kind: str
    record_key: str  # the record's id
    owner_organisation_id: int
    expires_at: str  # ISO time
    reason: str

    @property
    def purpose(self) -> str | None:
        return self.reason


@dataclass(frozen=True)
class ApiTokenEvent(AuditEventBase):
    """An API token was created, revoked or used (``change``); never the secret."""

    action: ClassVar[str] = "api_token.event"
    record_type: ClassVar[str | None] = "api_token"
    record_id_field: ClassVar[str | None] = "token_id"
    token_id: int
    change: str  # created | revoked | used
    organisation_id: int
    name: str = ""
    method: str = ""
    path: str = ""


@dataclass(frozen=True)
class AuditViewed(AuditEventBase):
    action: ClassVar[str] = "audit.viewed"
    record_type: ClassVar[str | None] = "audit"
    organisation_id: int | None = None


@dataclass(frozen=True)
class AccessDenied(AuditEventBase):
    """``allowed()`` said no to an action the actor tried."""

    action: ClassVar[str] = "access.denied"
    record_type: ClassVar[str | None] = "resource"
    record_id_field: ClassVar[str | None] = "resource_id"
    attempted: str
    resource_kind: str | None = None
    resource_id: str | None = None


# ----------------------------------------------------------------------------------------------
# Keys

SCHEME_UNKEYED = "sha256"
"""Rows written before migration 0002: plain SHA-256, verified as before."""
SCHEME_KEYED = "hmac-sha256"
"""Every row written since: HMAC-SHA256 with the audit key."""

# HKDF ``info`` labels: the checkpoint and anchor keys are derived from the audit key, so that a
# value made for one purpose can never pass as another.
_CHECKPOINT_KEY_LABEL = b"signaal audit checkpoint key v1"
_ANCHOR_KEY_LABEL = b"signaal audit anchor signing key v1 (ed25519)"


@dataclass(frozen=True)
class AuditKeys:
    """The keys of one deployment's audit log, all from ``settings.audit_key``.

    ``chain`` keys the row hashes (HMAC-SHA256), ``checkpoint`` the tags of verified positions,
    ``signing`` (Ed25519) the exported anchors.
    """

    chain: bytes
    checkpoint: bytes
    signing: Ed25519PrivateKey

    @property
    def public_key(self) -> str:
        """The anchors' public key (hex): anyone holding it can check an anchor's signature."""
        return self.signing.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def _derive(key: bytes, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(key)


@lru_cache(maxsize=16)
def audit_keys(audit_key: str | bytes) -> AuditKeys:
    """The audit keys derived from the setting ``audit_key``."""
    raw = audit_key.encode("utf-8") if isinstance(audit_key, str) else audit_key
    if not raw:
        raise ConfigurationError("the audit key is empty; set SIGNAAL_AUDIT_KEY")
    return AuditKeys(
        chain=raw,
        checkpoint=_derive(raw, _CHECKPOINT_KEY_LABEL),
        signing=Ed25519PrivateKey.from_private_bytes(_derive(raw, _ANCHOR_KEY_LABEL)),
    )


def session_audit_keys(session: Session) -> AuditKeys:
    """The audit keys of ``session``: the key its factory bound (``session.info``, see
    :func:`signaal.store.db.session_factory`), else the key of the process's settings."""
    key = session.info.get(AUDIT_KEY_INFO)
    if key is None:
        key = get_settings().audit_key
    return audit_keys(key)


# ----------------------------------------------------------------------------------------------
# Writing


def canonical_details(details: dict[str, object]) -> str:
    """The stored JSON text of an event's details (sorted keys, no spaces)."""
    return json.dumps(
        details, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


class StoredRow(Protocol):
    """What hashing and verification read of a row: an :class:`AuditEvent`, or a plain result
    row of its columns (verification reads those: no ORM objects for a walk of the chain)."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> datetime: ...
    @property
    def actor_user_id(self) -> int | None: ...
    @property
    def actor_email(self) -> str | None: ...
    @property
    def organisation_id(self) -> int | None: ...
    @property
    def action(self) -> str: ...
    @property
    def record_type(self) -> str | None: ...
    @property
    def record_id(self) -> str | None: ...
    @property
    def purpose(self) -> str | None: ...
    @property
    def ip(self) -> str | None: ...
    @property
    def details(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def scheme(self) -> str: ...


def canonical_content(row: StoredRow) -> bytes:
    """The bytes a row's hash is computed over: its content and ``prev_hash`` (not ``seq``)."""
    at = row.at.astimezone(UTC) if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    content = {
        "at": at.isoformat(timespec="microseconds"),
        "actor_user_id": row.actor_user_id,
        "actor_email": row.actor_email,
        "organisation_id": row.organisation_id,
        "action": row.action,
        "record_type": row.record_type,
        "record_id": row.record_id,
        "purpose": row.purpose,
        "ip": row.ip,
        "details": row.details,
        "prev_hash": row.prev_hash,
    }
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return encoded.encode("utf-8")


def compute_hash(row: StoredRow, keys: AuditKeys) -> str:
    """The hash a row should carry under its ``scheme``: HMAC-SHA256 with the chain key, or
    plain SHA-256 for rows written before the chain was keyed."""
    if row.scheme == SCHEME_KEYED:
        return hmac.new(keys.chain, canonical_content(row), hashlib.sha256).hexdigest()
    if row.scheme == SCHEME_UNKEYED:
        return hashlib.sha256(canonical_content(row)).hexdigest()
    raise ValueError(f"unknown audit hash scheme {row.scheme!r}")


# Built once: appending is on the path of every audited request.
_ADVANCE_HEAD = (
    update(AuditChainHead)
    .where(AuditChainHead.id == CHAIN_HEAD_ID)
    .values(seq=AuditChainHead.seq + 1)
    .returning(AuditChainHead.seq, AuditChainHead.hash)
    .execution_options(synchronize_session=False)
)
_SET_HEAD_HASH = (
    update(AuditChainHead)
    .where(AuditChainHead.id == CHAIN_HEAD_ID)
    .values(hash=bindparam("new_hash"))
    .execution_options(synchronize_session=False)
)
_AUDIT_TABLE = cast(Table, AuditEvent.__table__)
_INSERT_EVENT = insert(_AUDIT_TABLE)
_COLUMNS = tuple(column.key for column in _AUDIT_TABLE.columns)


def _advance_chain_head(session: Session) -> tuple[int, str]:
    """Take the next sequence number and return it with the hash of the current last row.

    One ``UPDATE … RETURNING`` both locks the head (row lock on PostgreSQL: other writers wait
    and then see this append; on SQLite the database write lock) and reads it.
    """
    advanced = session.execute(_ADVANCE_HEAD).one_or_none()
    if advanced is None:
        raise AuditIntegrityError(
            "the audit chain head is missing; run `signaal db upgrade` or restore it"
        )
    return int(advanced[0]), str(advanced[1])


def record(
    session: Session,
    event: AuditEventBase,
    *,
    actor: Actor | None,
    ip: str | None,
    purpose: str | None = None,
) -> AuditEvent:
    """Append ``event`` to the audit chain in the caller's transaction and return the row.

    ``actor`` None means the system or an anonymous visitor. ``purpose`` (why a person's data
    was looked at) overrides the event's own. Nothing is committed here: the event lands with
    the caller's commit, or not at all. The row's hash is keyed with the session's audit key
    (:func:`session_audit_keys`).
    """
    if not event.action:
        raise TypeError(f"{type(event).__name__} has no action name")
    keys = session_audit_keys(session)
    try:
        seq, prev_hash = _advance_chain_head(session)
        row = AuditEvent(
            seq=seq,
            at=datetime.now(UTC),
            actor_user_id=actor.user_id if actor and not actor.is_system else None,
            actor_email=actor.email if actor else None,  # "system" for authz.SYSTEM
            organisation_id=actor.organisation_id if actor and not actor.is_system else None,
            action=event.action,
            record_type=event.record_type,
            record_id=event.record_id,
            purpose=purpose if purpose is not None else event.purpose,
            ip=ip,
            details=canonical_details(event.details),
            prev_hash=prev_hash,
            scheme=SCHEME_KEYED,
        )
        row.hash = compute_hash(row, keys)
        session.execute(_INSERT_EVENT, {key: getattr(row, key) for key in _COLUMNS})
        session.execute(_SET_HEAD_HASH, {"new_hash": row.hash})
        # The row is in the database: give it to the session as a loaded object.
        make_transient_to_detached(row)
        session.add(row)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"could not write audit event {event.action!r}: {database_problem(exc)}"
        ) from exc
    return row


# ----------------------------------------------------------------------------------------------
# Reading


_Statement = TypeVar("_Statement", bound=Select[Any])


def _filtered(
    statement: _Statement,
    *,
    organisation_id: int | None,
    action_prefix: str | None,
    record_type: str | None,
    record_id: str | None,
) -> _Statement:
    if organisation_id is not None:
        statement = statement.where(AuditEvent.organisation_id == organisation_id)
    if action_prefix:
        statement = statement.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    if record_type is not None:
        statement = statement.where(AuditEvent.record_type == record_type)
    if record_id is not None:
        statement = statement.where(AuditEvent.record_id == record_id)
    return statement


def list_events(
    session: Session,
    *,
    organisation_id: int | None = None,
    action_prefix: str | None = None,
    record_type: str | None = None,
    record_id: str | None = None,
    before_seq: int | None = None,
    after_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """The newest audit rows first, filtered in SQL; page with ``before_seq`` (older than the
    last seq shown) or ``after_seq`` (the page of rows just newer than that seq).

    ``organisation_id`` limits the rows to actors of that organisation (what an organisation's
    administrator may read; see ``Action.VIEW_AUDIT``).
    """
    statement = _filtered(
        select(AuditEvent),
        organisation_id=organisation_id,
        action_prefix=action_prefix,
        record_type=record_type,
        record_id=record_id,
    )
    if before_seq is not None:
        statement = statement.where(AuditEvent.seq < before_seq)
    size = max(1, min(limit, 1000))
    oldest_first = after_seq is not None and before_seq is None
    if after_seq is not None:
        statement = statement.where(AuditEvent.seq > after_seq)
    order = AuditEvent.seq.asc() if oldest_first else AuditEvent.seq.desc()
    try:
        rows = list(session.scalars(statement.order_by(order).limit(size)))
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read the audit log: {database_problem(exc)}") from exc
    return rows[::-1] if oldest_first else rows


@dataclass(frozen=True)
class EventPage:
    """One page of the audit log, newest first, with the keys of the pages around it:
    ``older_before`` is the ``before_seq`` of the next older page, ``newer_after`` the
    ``after_seq`` of the next newer one (None when there is none)."""

    events: list[AuditEvent]
    older_before: int | None
    newer_after: int | None


def page_events(
    session: Session,
    *,
    organisation_id: int | None,
    before_seq: int | None = None,
    after_seq: int | None = None,
    size: int = 100,
) -> EventPage:
    """A page of :func:`list_events` (keyset pagination on ``seq``) and whether pages older or
    newer than it exist, all filtered in SQL."""
    events = list_events(
        session,
        organisation_id=organisation_id,
        before_seq=before_seq,
        after_seq=after_seq if before_seq is None else None,
        limit=size,
    )
    if not events:
        return EventPage(events, None, None)

    def exists(condition: ColumnElement[bool]) -> bool:
        statement = _filtered(
            select(AuditEvent.seq),
            organisation_id=organisation_id,
            action_prefix=None,
            record_type=None,
            record_id=None,
        ).where(condition)
        try:
            return session.scalar(statement.limit(1)) is not None
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read the audit log: {database_problem(exc)}") from exc

    oldest, newest = events[-1].seq, events[0].seq
    return EventPage(
        events,
        older_before=oldest if exists(AuditEvent.seq < oldest) else None,
        newer_after=newest if exists(AuditEvent.seq > newest) else None,
    )


# ----------------------------------------------------------------------------------------------
# Merkle tree (RFC 6962, section 2.1)


def merkle_leaf(entry_hash: str) -> bytes:
    """The leaf hash of one entry: SHA-256(0x00 || the entry's hash as bytes).

    A stored hash that is not 64 hex digits (a damaged row) is taken as its UTF-8 bytes, so that
    it still gives a leaf of its own."""
    try:
        raw = bytes.fromhex(entry_hash)
    except ValueError:
        raw = entry_hash.encode("utf-8")
    return hashlib.sha256(b"\x00" + raw).digest()


def merkle_node(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class MerkleTree:
    """The Merkle tree hash of entries appended one by one, in O(log n) memory.

    The stack holds the roots of the perfect subtrees that the entries so far decompose into
    (sizes the binary digits of n, largest first). Folding them from the right is exactly
    RFC 6962's split at the largest power of two below n.
    """

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def append(self, entry_hash: str) -> None:
        node, height = merkle_leaf(entry_hash), 0
        while self._stack and self._stack[-1][0] == height:
            node = merkle_node(self._stack.pop()[1], node)
            height += 1
        self._stack.append((height, node))
        self.size += 1

    def root(self) -> str:
        """The tree head (hex); the hash of the empty string for no entries (as in the RFC)."""
        if not self._stack:
            return hashlib.sha256(b"").hexdigest()
        node = self._stack[-1][1]
        for _height, left in reversed(self._stack[:-1]):
            node = merkle_node(left, node)
        return node.hex()


def merkle_root(entry_hashes: Iterable[str]) -> str:
    tree = MerkleTree()
    for entry_hash in entry_hashes:
        tree.append(entry_hash)
    return tree.root()


# ----------------------------------------------------------------------------------------------
# Anchors: signed tree heads exported out of the database

ANCHOR_FORMAT = "signaal-audit-anchor/1"


@dataclass(frozen=True)
class Anchor:
    """A signed tree head over the first ``tree_size`` entries of the chain."""

    tree_size: int
    root_hash: str
    last_seq: int
    last_hash: str
    created_at: str  # ISO 8601, UTC
    public_key: str  # Ed25519, hex: who signed it
    signature: str = ""  # Ed25519 over signed_content(), hex

    def signed_content(self) -> bytes:
        content = {
            "format": ANCHOR_FORMAT,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "last_seq": self.last_seq,
            "last_hash": self.last_hash,
            "created_at": self.created_at,
            "public_key": self.public_key,
        }
        return json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")

    def to_json(self) -> str:
        document = {"format": ANCHOR_FORMAT, **asdict(self)}
        return json.dumps(document, indent=2) + "\n"

    def signature_ok(self, keys: AuditKeys) -> bool:
        """Whether this deployment's anchor key signed exactly this content."""
        try:
            signature = bytes.fromhex(self.signature)
            keys.signing.public_key().verify(signature, self.signed_content())
        except (ValueError, InvalidSignature):
            return False
        return True

    @classmethod
    def from_json(cls, text: str, *, source: str = "anchor") -> Anchor:
        """Read an anchor file; a malformed one is an :class:`InputError` naming the field."""
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}: not JSON ({exc.msg} at line {exc.lineno})") from exc
        if not isinstance(document, dict):
            raise InputError(f"{source}: expected a JSON object")
        if document.get("format") != ANCHOR_FORMAT:
            raise InputError(f"{source}: format: expected {ANCHOR_FORMAT!r}")
        values: dict[str, object] = {}
        for name, kind in (
            ("tree_size", int),
            ("root_hash", str),
            ("last_seq", int),
            ("last_hash", str),
            ("created_at", str),
            ("public_key", str),
            ("signature", str),
        ):
            value = document.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InputError(f"{source}: {name}: missing or not a {kind.__name__}")
            values[name] = value
        tree_size = cast(int, values["tree_size"])
        if tree_size < 0 or cast(int, values["last_seq"]) < 0:
            raise InputError(f"{source}: tree_size and last_seq must not be negative")
        return cls(**values)  # type: ignore[arg-type]


def _entry_hashes(session: Session, *, limit: int | None = None) -> Iterator[str]:
    statement = select(AuditEvent.hash).order_by(AuditEvent.seq)
    if limit is not None:
        statement = statement.limit(limit)
    yield from session.scalars(statement.execution_options(yield_per=5000))


def make_anchor(session: Session) -> Anchor:
    """Sign the tree head over every entry up to the recorded chain head. Verify the chain
    first: an anchor vouches for what it covers."""
    keys = session_audit_keys(session)
    try:
        head = session.get(AuditChainHead, CHAIN_HEAD_ID, populate_existing=True)
        if head is None:
            raise AuditIntegrityError("the audit chain head row is missing")
        tree = MerkleTree()
        last_seq, last_hash = 0, GENESIS_HASH
        statement = (
            select(AuditEvent.seq, AuditEvent.hash)
            .where(AuditEvent.seq <= head.seq)
            .order_by(AuditEvent.seq)
            .execution_options(yield_per=5000)
        )
        for seq, entry_hash in session.execute(statement):
            tree.append(entry_hash)
            last_seq, last_hash = seq, entry_hash
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read the audit log: {database_problem(exc)}") from exc
    unsigned = Anchor(
        tree_size=tree.size,
        root_hash=tree.root(),
        last_seq=last_seq,
        last_hash=last_hash,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        public_key=keys.public_key,
    )
    signature = keys.signing.sign(unsigned.signed_content()).hex()
    return Anchor(**{**asdict(unsigned), "signature": signature})


# ----------------------------------------------------------------------------------------------
# Verifying


ProblemKind = Literal[
    "changed", "removed", "inserted", "reordered", "forged", "checkpoint", "anchor"
]


@dataclass(frozen=True)
class AuditProblem:
    seq: int
    kind: ProblemKind
    message: str


@dataclass(frozen=True)
class AuditReport:
    """The outcome of :func:`verify`.

    ``checked`` counts the rows whose hashes were recomputed now; with ``full`` False the rows
    up to ``verified_before`` were verified earlier (the checkpoint of ``checkpoint_at``).
    """

    ok: bool
    checked: int
    problems: list[AuditProblem]
    head_seq: int | None = None
    head_hash: str | None = None
    full: bool = True
    verified_before: int = 0
    checkpoint_at: datetime | None = None
    legacy_rows: int = 0
    anchor: Anchor | None = None

    def raise_if_broken(self) -> None:
        if not self.ok:
            first = self.problems[0]
            raise AuditIntegrityError(
                f"the audit chain does not verify ({len(self.problems)} problem(s)); "
                f"first at row {first.seq}: {first.message}"
            )


def checkpoint_tag(keys: AuditKeys, seq: int, entry_hash: str) -> str:
    """What a checkpoint stores: a keyed tag of the verified row's position and hash, so that
    whoever lacks the audit key can neither make a checkpoint nor move one to another row."""
    message = f"{seq}:{entry_hash}".encode()
    return hmac.new(keys.checkpoint, message, hashlib.sha256).hexdigest()


def _rows(session: Session, *, after: int, up_to: int | None) -> Iterator[StoredRow]:
    statement = select(*_AUDIT_TABLE.columns).where(AuditEvent.seq > after)
    if up_to is not None:
        statement = statement.where(AuditEvent.seq <= up_to)
    statement = statement.order_by(AuditEvent.seq).execution_options(yield_per=5000)
    for row in session.execute(statement):
        yield cast(StoredRow, row)


def _seq_of_hash(session: Session, hash_value: str) -> int | None:
    return session.scalar(select(AuditEvent.seq).where(AuditEvent.hash == hash_value))


class _ChainWalk:
    """Walks rows in ``seq`` order, from the genesis or from a verified row, and collects
    every changed, removed, inserted, reordered or forged row."""

    def __init__(self, session: Session, keys: AuditKeys, start: StoredRow | None) -> None:
        self.session = session
        self.keys = keys
        self.problems: list[AuditProblem] = []
        self.checked = 0
        self.legacy_rows = 0
        if start is None:
            self.expected_seq = 1
            self.prev_hash = GENESIS_HASH
            self.prev_prev_hash: str | None = None
            self.prev_seq: int | None = None
            self.keyed_seen = False
        else:
            # A verified prefix that ends in an unkeyed row has no keyed row before it.
            self.expected_seq = start.seq + 1
            self.prev_hash = start.hash
            self.prev_prev_hash = start.prev_hash
            self.prev_seq = start.seq
            self.keyed_seen = start.scheme == SCHEME_KEYED
        self.prev_out_of_place = False
        self.prev_bad = False

    def _add(self, seq: int, kind: ProblemKind, message: str) -> None:
        self.problems.append(AuditProblem(seq, kind, message))

    def _hash_ok(self, row: StoredRow) -> bool:
        if row.scheme == SCHEME_UNKEYED:
            if self.keyed_seen:
                self._add(
                    row.seq,
                    "forged",
                    f"row {row.seq} ({row.action}) carries an unkeyed hash after keyed rows: "
                    "it was written or rewritten by someone without the audit key",
                )
                return False
            self.legacy_rows += 1
        elif row.scheme == SCHEME_KEYED:
            self.keyed_seen = True
        else:
            self._add(row.seq, "forged", f"row {row.seq} has an unknown hash scheme")
            return False
        if not hmac.compare_digest(compute_hash(row, self.keys), row.hash):
            self._add(
                row.seq,
                "changed",
                f"row {row.seq} ({row.action}) was changed: its content does not match its "
                "hash, or the hash was not made with the audit key",
            )
            return False
        return True

    def feed(self, row: StoredRow) -> None:
        self.checked += 1
        out_of_place = False
        if row.seq < self.expected_seq:
            self._add(row.seq, "inserted", f"row {row.seq} lies before the first row")
            return
        gap = row.seq > self.expected_seq
        if gap:
            missing = (
                f"row {self.expected_seq}"
                if row.seq == self.expected_seq + 1
                else f"rows {self.expected_seq}–{row.seq - 1}"
            )
            self._add(self.expected_seq, "removed", f"{missing} removed")
        hash_ok = self._hash_ok(row)
        if hash_ok and row.prev_hash != self.prev_hash and not gap:
            out_of_place = self._bad_link(row)
        self.prev_out_of_place = out_of_place
        self.prev_bad = not hash_ok
        self.prev_prev_hash, self.prev_hash, self.prev_seq = self.prev_hash, row.hash, row.seq
        self.expected_seq = row.seq + 1

    def _bad_link(self, row: StoredRow) -> bool:
        """Explain a row whose own hash is right but whose link is not; True if it is moved."""
        prev_seq = self.prev_seq
        links_past_previous = prev_seq is not None and row.prev_hash == self.prev_prev_hash
        if links_past_previous and not self.prev_out_of_place:
            assert prev_seq is not None
            self._add(
                prev_seq, "inserted", f"row {prev_seq} was inserted: row {row.seq} links past it"
            )
            return False
        other = _seq_of_hash(self.session, row.prev_hash)
        if other is not None or links_past_previous:
            self._add(
                row.seq,
                "reordered",
                f"row {row.seq} is out of order: in the chain it follows row "
                f"{other if other is not None else 'none'}",
            )
            return True
        blamed = prev_seq if prev_seq is not None else row.seq
        if self.prev_bad:
            return False  # the previous row is already named: its hash was wrong
        self._add(
            blamed,
            "changed",
            f"row {row.seq} does not link to row {blamed}: row {blamed} was changed and "
            "re-hashed, or a row between them was removed",
        )
        return False

    def check_head(self, head: AuditChainHead | None) -> None:
        last_seq = self.prev_seq if self.prev_seq is not None else 0
        if head is None:
            self._add(last_seq, "removed", "the audit chain head row is missing")
        elif head.seq > last_seq:
            missing = (
                f"row {head.seq}" if head.seq == last_seq + 1 else f"rows {last_seq + 1}–{head.seq}"
            )
            self._add(last_seq + 1, "removed", f"{missing} removed from the end")
        elif head.hash != self.prev_hash:
            self._add(last_seq, "changed", f"row {last_seq} does not match the recorded chain head")


def _rows_after_head(session: Session, head_seq: int) -> list[int]:
    """Rows past the recorded head that no committed append accounts for.

    Appends commit the row and the head together, so a row visible now whose seq lies beyond
    the head read *afterwards* was not appended by :func:`record`."""
    beyond = list(
        session.scalars(
            select(AuditEvent.seq)
            .where(AuditEvent.seq > head_seq)
            .order_by(AuditEvent.seq)
            .limit(1000)
        )
    )
    if not beyond:
        return []
    head = session.get(AuditChainHead, CHAIN_HEAD_ID, populate_existing=True)
    latest = head.seq if head is not None else head_seq
    return [seq for seq in beyond if seq > latest]


@dataclass(frozen=True)
class _Checkpoint:
    seq: int
    tag: str
    verified_at: datetime


def _checkpoint_problems(
    session: Session, keys: AuditKeys, *, latest_only: bool
) -> tuple[list[AuditProblem], _Checkpoint | None, AuditEvent | None]:
    """Check the checkpoints (every one, or the latest): each must tag a row that still exists
    with the hash it had. Returns the problems and the latest checkpoint with its row, if both
    are sound."""
    statement = (
        select(
            AuditCheckpoint.seq, AuditCheckpoint.hash, AuditCheckpoint.verified_at, AuditEvent.hash
        )
        .outerjoin(AuditEvent, AuditEvent.seq == AuditCheckpoint.seq)
        .order_by(AuditCheckpoint.seq.desc())
        .execution_options(yield_per=5000)
    )
    if latest_only:
        statement = statement.limit(1)
    problems: list[AuditProblem] = []
    latest: _Checkpoint | None = None
    gone_reported = False
    for index, (seq, tag, verified_at, entry_hash) in enumerate(session.execute(statement)):
        when = verified_at.strftime("%Y-%m-%d %H:%M")
        if entry_hash is None:
            if not gone_reported:  # one tail wipe leaves many checkpoints behind
                problems.append(
                    AuditProblem(
                        seq,
                        "removed",
                        f"row {seq}, verified on {when}, is gone: rows were removed from the chain",
                    )
                )
                gone_reported = True
        elif not hmac.compare_digest(checkpoint_tag(keys, seq, entry_hash), tag):
            problems.append(
                AuditProblem(
                    seq,
                    "checkpoint",
                    f"the checkpoint at row {seq} ({when}) does not match: it was not written "
                    "with the audit key, or the row's hash was changed since",
                )
            )
        elif index == 0:
            latest = _Checkpoint(seq, tag, verified_at)
    if latest is None:
        return problems, None, None
    return problems, latest, session.get(AuditEvent, latest.seq, populate_existing=True)


def verify(
    session: Session,
    *,
    full: bool = True,
    write_checkpoint: bool = True,
    anchor: Anchor | None = None,
) -> AuditReport:
    """Verify the audit chain and report every changed, removed, inserted, reordered or
    forged row.

    ``full`` walks the chain from its first row and checks every checkpoint; otherwise the walk
    starts at the latest checkpoint (after checking that its row still carries the hash it was
    verified with and still matches its content) and falls back to a full walk when that
    checkpoint is unsound. When nothing is wrong and ``write_checkpoint`` is set, a checkpoint
    for the last verified row is added to the caller's transaction. ``anchor`` is also checked
    (:func:`check_anchor`).
    """
    try:
        return _verify(session, full=full, write_checkpoint=write_checkpoint, anchor=anchor)
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read the audit log: {database_problem(exc)}") from exc


def _verify(
    session: Session, *, full: bool, write_checkpoint: bool, anchor: Anchor | None
) -> AuditReport:
    keys = session_audit_keys(session)
    head = session.get(AuditChainHead, CHAIN_HEAD_ID, populate_existing=True)
    problems, checkpoint, start = _checkpoint_problems(session, keys, latest_only=not full)
    if start is not None and (
        start.scheme not in (SCHEME_KEYED, SCHEME_UNKEYED)
        or not hmac.compare_digest(compute_hash(start, keys), start.hash)
    ):
        problems.append(
            AuditProblem(
                start.seq,
                "changed",
                f"row {start.seq} ({start.action}) was changed after it was verified",
            )
        )
    if full or problems:
        start = None  # an unsound checkpoint: trust nothing before it either
    walk = _ChainWalk(session, keys, start)
    for row in _rows(session, after=start.seq if start else 0, up_to=head.seq if head else None):
        walk.feed(row)
    walk.check_head(head)
    if head is not None:
        walk.problems.extend(
            AuditProblem(seq, "inserted", f"row {seq} was appended after the recorded chain head")
            for seq in _rows_after_head(session, head.seq)
        )
    problems.extend(walk.problems)
    if anchor is not None:
        problems.extend(check_anchor(session, anchor, keys))
    problems = _distinct(problems)
    if not problems and write_checkpoint and walk.prev_seq is not None:
        _write_checkpoint(session, keys, walk.prev_seq, walk.prev_hash)
    return AuditReport(
        ok=not problems,
        checked=walk.checked,
        problems=problems,
        head_seq=head.seq if head else None,
        head_hash=head.hash if head else None,
        full=start is None,
        verified_before=start.seq if start else 0,
        checkpoint_at=checkpoint.verified_at if start is not None and checkpoint else None,
        legacy_rows=walk.legacy_rows,
        anchor=anchor,
    )


def _distinct(problems: list[AuditProblem]) -> list[AuditProblem]:
    """One problem per row and kind (a changed row can break its own hash and the next link)."""
    seen: set[tuple[int, str]] = set()
    kept = []
    for problem in problems:
        if (problem.seq, problem.kind) not in seen:
            seen.add((problem.seq, problem.kind))
            kept.append(problem)
    return kept


def _write_checkpoint(session: Session, keys: AuditKeys, seq: int, entry_hash: str) -> None:
    latest = session.scalar(select(func.max(AuditCheckpoint.seq)))
    if latest is not None and latest >= seq:
        return
    values = {
        "seq": seq,
        "hash": checkpoint_tag(keys, seq, entry_hash),
        "verified_at": datetime.now(UTC),
    }
    # Two verifications at once may both reach the same row: the second one adds nothing.
    statement = (
        postgresql_insert(AuditCheckpoint).values(values).on_conflict_do_nothing()
        if session.get_bind().dialect.name == "postgresql"
        else sqlite_insert(AuditCheckpoint).values(values).on_conflict_do_nothing()
    )
    session.execute(statement)


def check_anchor(
    session: Session, anchor: Anchor, keys: AuditKeys | None = None
) -> list[AuditProblem]:
    """Check the chain against an exported anchor: its signature, that the chain still holds
    at least ``tree_size`` entries, and that the Merkle root over its first ``tree_size``
    entries is the anchor's. A wiped or rewritten tail is found here even when the rows that
    remain and the head agree with each other."""
    keys = keys or session_audit_keys(session)
    if not anchor.signature_ok(keys):
        return [
            AuditProblem(
                anchor.last_seq,
                "anchor",
                "the anchor's signature does not verify: it was not signed with this "
                "deployment's audit key, or it was altered",
            )
        ]
    try:
        tree = MerkleTree()
        last_hash = GENESIS_HASH
        for entry_hash in _entry_hashes(session, limit=anchor.tree_size):
            tree.append(entry_hash)
            last_hash = entry_hash
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read the audit log: {database_problem(exc)}") from exc
    if tree.size < anchor.tree_size:
        return [
            AuditProblem(
                tree.size + 1,
                "removed",
                f"the chain holds {tree.size} entries, but the anchor of {anchor.created_at} "
                f"covers {anchor.tree_size}: entries {tree.size + 1}–{anchor.tree_size} were "
                "removed or the chain was rebuilt",
            )
        ]
    if tree.root() != anchor.root_hash:
        which = (
            f"entry {anchor.tree_size} itself differs"
            if last_hash != anchor.last_hash
            else f"entry {anchor.tree_size} is unchanged, an earlier one differs"
        )
        return [
            AuditProblem(
                anchor.last_seq,
                "anchor",
                f"the first {anchor.tree_size} entries do not match the anchor of "
                f"{anchor.created_at} ({which}): rows it covers were rewritten",
            )
        ]
    return []
