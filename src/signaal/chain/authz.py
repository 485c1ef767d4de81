"""Authorisation: one function, :func:`allowed`, decides every action of every actor.

Roles and their actions are data (``chain/roles.json``), not code: each role has a Dutch and an
English label, the organisation kinds it fits and its list of actions. Routes and commands ask
``allowed(actor, action, resource)`` and never copy ownership checks of their own.

The rules, in order (deny by default):

1. ``public.view`` is allowed to everyone, also anonymous visitors (login page, health check).
2. An anonymous actor (None) may do nothing else.
3. An actor whose role is unknown may do nothing.
4. The action must be in the actor's role.
5. Administration actions (``users.manage``, ``audit.view``) and revealing a contact point
   (``contacts.reveal``) on a resource of another organisation are refused unless the role has
   platform scope (no platform role may reveal contact points).
6. ``account.manage_own`` applies only to the actor's own user record.
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
    STORE_ANALYSIS = "analysis.store"
    """Store the results of an analysis run in the app store."""
    MANAGE_USERS = "users.manage"
    """Create, change and deactivate users (of the own organisation unless platform scope)."""
    MANAGE_ORGANISATIONS = "organisations.manage"
    """Create and change partner organisations."""
    VIEW_AUDIT = "audit.view"
    """Read the audit log (of the own organisation unless platform scope)."""
    MANAGE_OWN_ACCOUNT = "account.manage_own"
    """Change the own password, language and second factor."""


PUBLIC_ACTIONS = frozenset({Action.PUBLIC_VIEW})
# Actions whose resource belongs to one organisation: limited to the own one unless platform.
ORGANISATION_SCOPED_ACTIONS = frozenset(
    {Action.MANAGE_USERS, Action.VIEW_AUDIT, Action.REVEAL_CONTACTS}
)

Scope = Literal["organisation", "platform"]


@dataclass(frozen=True)
class RoleDefinition:
    name: str
    label: Mapping[str, str]  # locale -> label, at least "nl" and "en"
    description: Mapping[str, str]
    organisation_kinds: frozenset[OrganisationKind] | None  # None: fits every kind
    scope: Scope
    actions: frozenset[Action]

    def label_for(self, locale: str) -> str:
        return self.label.get(locale) or self.label["en"]

    def fits(self, kind: OrganisationKind) -> bool:
        return self.organisation_kinds is None or kind in self.organisation_kinds


@dataclass(frozen=True)
class Actor:
    """Who acts: a logged-in user, reduced to what authorisation and audit need."""

    user_id: int
    email: str
    organisation_id: int
    organisation_kind: OrganisationKind
    role: str
    is_demo: bool


@dataclass(frozen=True)
class Resource:
    """What is acted on: ``kind`` (``"user"``, ``"persona"``, ``"audit"``, …), optional id and
    the organisation it belongs to (None when it belongs to the whole deployment)."""

    kind: str
    id: str | None = None
    organisation_id: int | None = None


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
    return RoleDefinition(
        name=name,
        label=text_map("label"),
        description=text_map("description"),
        organisation_kinds=kinds,
        scope=scope,
        actions=actions,
    )


@lru_cache(maxsize=1)
def roles() -> Mapping[str, RoleDefinition]:
    """Every role by name, in the order of roles.json."""
    text = (resources.files("signaal.chain") / "roles.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return MappingProxyType({name: _parse_role(name, raw) for name, raw in data["roles"].items()})


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        email=user.email,
        organisation_id=user.organisation_id,
        organisation_kind=user.organisation.kind,
        role=user.role,
        is_demo=user.is_demo,
    )


def allowed(actor: Actor | None, action: Action, resource: Resource | None = None) -> bool:
    """May ``actor`` perform ``action`` on ``resource``? The one authorisation decision."""
    if action in PUBLIC_ACTIONS:
        return True
    if actor is None:
        return False
    role = roles().get(actor.role)
    if role is None or action not in role.actions:
        return False
    if (
        action in ORGANISATION_SCOPED_ACTIONS
        and resource is not None
        and resource.organisation_id is not None
        and resource.organisation_id != actor.organisation_id
        and role.scope != "platform"
    ):
        return False
    return not (
        action is Action.MANAGE_OWN_ACCOUNT
        and resource is not None
        and resource.kind == "user"
        and resource.id is not None
        and resource.id != str(actor.user_id)
    )


def may_assign_role(actor: Actor | None, role_name: str) -> bool:
    """Whether ``actor`` may give ``role_name`` to a user: never a role of wider scope than the
    actor's own (an organisation administrator cannot create a platform administrator)."""
    if not allowed(actor, Action.MANAGE_USERS):
        return False
    assert actor is not None
    target = roles().get(role_name)
    own = roles()[actor.role]
    if target is None:
        return False
    return not (target.scope == "platform" and own.scope != "platform")
