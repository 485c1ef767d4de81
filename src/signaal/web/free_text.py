"""The check of a form's free text for identifiers before it is saved (signals, contact requests).

A text with names, phone numbers, addresses, dates of birth or BSNs is not saved at once: the form
comes back with the found items (shown only to the user who typed them, in this response) and
two explicit choices in the form field ``identifiers``: ``pseudonymise`` (the items are replaced
by tags such as ``[PERSOON-1]``) or ``as_written``. Editing the text and sending it again checks
it again. The choice is audited with the categories found, never the text
(:class:`signaal.audit.FreeTextIdentifiers`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from signaal import audit
from signaal.chain.authz import Actor
from signaal.privacy import deidentifier
from signaal.privacy.deidentify import (
    Category,
    Identifier,
    category_counts,
    find_identifiers,
    pseudonymise,
)
from signaal.settings import Settings
from signaal.web.casework_forms import text
from signaal.web.i18n import N_

CHOICE_FIELD = "identifiers"
PSEUDONYMISE = "pseudonymise"
AS_WRITTEN = "as_written"
CHOICES = (PSEUDONYMISE, AS_WRITTEN)

CATEGORY_LABELS: dict[Category, str] = {
    Category.PERSON: N_("name"),
    Category.ADDRESS: N_("address"),
    Category.PLACE: N_("place"),
    Category.BIRTH_DATE: N_("date of birth"),
    Category.DATE: N_("date"),
    Category.AGE: N_("age"),
    Category.PHONE: N_("phone number"),
    Category.EMAIL: N_("e-mail address"),
    Category.HANDLE: N_("messenger account"),
    Category.URL: N_("website"),
    Category.BSN: N_("citizen service number (BSN)"),
    Category.ID: N_("identification number"),
    Category.INSTITUTION: N_("care institution"),
}


@dataclass(frozen=True)
class Checked:
    """The text to save, or the identifiers to offer (``offer`` non-empty: save nothing yet)."""

    text: str
    offer: tuple[Identifier, ...]
    choice: str | None  # pseudonymise | as_written when identifiers were found and chosen
    found: tuple[Identifier, ...]


def check(settings: Settings, form: FormData, value: str) -> Checked:
    """Check ``value`` (the form's free text) and apply the user's choice, if she made one."""
    found = find_identifiers(value, deidentifier.shared_annotator(settings.data_dir))
    if not found:
        return Checked(value, (), None, ())
    choice = text(form, CHOICE_FIELD, 20)
    if choice == PSEUDONYMISE:
        return Checked(pseudonymise(value, found), (), choice, found)
    if choice == AS_WRITTEN:
        return Checked(value, (), choice, found)
    return Checked(value, found, None, found)


def offer_context(found: tuple[Identifier, ...]) -> list[dict[str, str]]:
    """The found items for ``partials/identifiers_found.html``: category label and text."""
    return [{"label": CATEGORY_LABELS[i.category], "value": i.value} for i in found]


def audit_choice(
    db: Session,
    actor: Actor,
    checked: Checked,
    *,
    record_kind: str,
    record_id: int,
    text_field: str,
    ip: str | None,
) -> None:
    """Audit the user's choice on a text with identifiers (nothing when none were found)."""
    if checked.choice is None:
        return
    audit.record(
        db,
        audit.FreeTextIdentifiers(
            record_kind=record_kind,
            record_key=str(record_id),
            text_field=text_field,
            choice="pseudonymised" if checked.choice == PSEUDONYMISE else "as_written",
            categories=category_counts(checked.found),
        ),
        actor=actor,
        ip=ip,
    )
