"""Reading the case-work forms (contacts, tasks, cases, shelters, controls) and showing the
services' field errors in the user's language.

The services say per field what is wrong in English codes ("required", "lies in the past");
:func:`field_messages` turns them into translatable messages. Times in forms are local
(Europe/Amsterdam, ``<input type="datetime-local">``) and stored in UTC.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from signaal.web.i18n import N_

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
INVALID = object()  # a value that was given but could not be read

REASONS: dict[str, str] = {
    "required": N_("Fill this in."),
    "lies in the past": N_("Choose a time that is not in the past."),
    "lies in the future": N_("Choose a time that is not in the future."),
    "not a time": N_("Enter a date and time."),
    "not a phone number": N_("Enter a phone number like 06 12345678."),
    "unknown municipality": N_("Enter a Dutch municipality or place."),
    "unknown user": N_("Choose a colleague of your organisation."),
    "unknown record": N_("This record does not exist or is not of your organisation."),
    "unknown case": N_("This case does not exist or is not of your organisation."),
    "unknown subject": N_("This person does not exist or you may not see her."),
    "unknown signal": N_("This signal does not exist or you may not see it."),
    "unknown shelter": N_("This shelter does not exist."),
    "unknown joint control": N_("This joint control does not exist or is not yours."),
    "closing needs a reason": N_("Give a reason for closing the case."),
    "a closed case reopens to assessment": N_("A closed case reopens to assessment."),
    "the case is already in this stage": N_("The case is already in this stage."),
    "unknown stage": N_("Choose a stage."),
    "choose yes, no or unknown": N_("Choose yes, no or unknown."),
    "name a colleague or who accompanied her": N_("Name a colleague or who accompanied her."),
    "choose an outreach partner": N_("Choose an outreach partner organisation."),
    # The visit list of a joint control (signaal.chain.controls).
    "choose a planned control": N_("Choose one of your organisation's planned controls."),
    "not a persona of your latest analysis": N_(
        "This is not a persona of your organisation's latest analysis."
    ),
    "choose an outcome": N_("Choose an outcome."),
    "this shelter has no free place": N_("This shelter has no free place."),
    "the case is closed": N_("The case is closed."),
    "a whole number": N_("Enter a whole number."),
    "contains control characters": N_("Remove the special characters."),
    "must be text": N_("Enter text."),
    "choose why you need the number": N_("Choose why you need the number."),
    # The triage queue's decisions (signaal.monitor.triage).
    "unknown decision": N_("Choose a decision."),
    "already escalated": N_("A signal was registered for this item already."),
    "not a colleague who works on the triage queue": N_(
        "Choose a colleague of your organisation who works on the triage queue."
    ),
    "the item has no municipality to register a signal in": N_(
        "This item has no municipality: register the signal by hand."
    ),
}
FALLBACK = N_("Check this value.")


def field_messages(fields: dict[str, str]) -> dict[str, str]:
    """The services' reasons per field as messages of the catalogue."""
    out: dict[str, str] = {}
    for name, reason in fields.items():
        if reason in REASONS:
            out[name] = REASONS[reason]
        elif reason.startswith("at most"):
            out[name] = N_("This is too long or too large.")
        elif reason.startswith("between"):
            out[name] = N_("Enter a number within the allowed range.")
        elif reason.startswith("choose one of") or reason.startswith("a placement that"):
            out[name] = N_("Choose one of the options.")
        else:
            out[name] = FALLBACK
    return out


def text(form: FormData, name: str, max_length: int | None = None) -> str:
    """The field's text ("" when missing or a file), cut to ``max_length`` characters."""
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value if max_length is None else value[:max_length]


def positive_int(form: FormData, name: str) -> int | None:
    """A positive whole number below 2**31 (a record id, a year), else None."""
    raw = text(form, name, 12).strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31 else None


def number(form: FormData, name: str) -> object:
    """A whole number, None when empty, INVALID when not a number."""
    raw = text(form, name).strip()
    if not raw:
        return None
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 9:
        return INVALID
    return int(raw)


def local_time(form: FormData, name: str) -> object:
    """A ``datetime-local`` value in Amsterdam time as an aware time; None when empty,
    INVALID when it is no time."""
    raw = text(form, name).strip()
    if not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw[:32])
    except ValueError:
        return INVALID
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=AMSTERDAM)
    return parsed


def local_input(value: datetime | None) -> str:
    """The value of a ``datetime-local`` input for a stored time."""
    if value is None:
        return ""
    from signaal.chain.casework import aware

    return aware(value).astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M")
