"""Reading and checking HTML form values, with errors that name the field and say why.

Handlers check ``ctx.form`` with :class:`FormCheck` instead of FastAPI ``Form()`` parameters, so
that a missing or absurd value re-renders the form with the message next to the field (and
writes nothing) instead of a generic validation error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException
from starlette.datastructures import FormData
from starlette.requests import Request

from signaal.web.i18n import N_, Message

MAX_FORM_FIELDS = 50
MAX_FIELD_BYTES = 64 * 1024
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")
TOTP_CODE_PATTERN = re.compile(r"^\d{6}$")


# No form of Signaal comes near this; a larger body is refused before it is parsed.
MAX_BODY_BYTES = 256 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def submitted_form(request: Request) -> FormData:
    """The form of a state-changing request (empty for other requests), parsed once.

    An async dependency, so that the guard and the handlers themselves can be plain functions
    that FastAPI runs in its thread pool (password hashing and database work never block the
    event loop).
    """
    if request.method in SAFE_METHODS:
        return FormData()
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise HTTPException(status_code=413)
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return FormData()
    return await request.form(max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES)


SubmittedForm = Annotated[FormData, Depends(submitted_form)]


@dataclass
class FormCheck:
    """Collects cleaned values and per-field errors of one submitted form."""

    form: FormData
    errors: dict[str, str | Message] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    def text(
        self,
        name: str,
        *,
        required: bool = True,
        max_length: int = 200,
        strip: bool = True,
        missing: str = N_("Fill in this field."),
    ) -> str:
        raw = self.form.get(name)
        value = raw if isinstance(raw, str) else ""
        if strip:
            value = value.strip()
        self.values[name] = value if len(value) <= max_length else ""
        if required and not value:
            self.errors.setdefault(name, missing)
        elif len(value) > max_length:
            self.errors.setdefault(
                name, Message(N_("Use at most %(count)d characters."), {"count": max_length})
            )
        elif "\x00" in value:
            self.errors.setdefault(name, N_("This value contains characters that are not allowed."))
        return value

    def email(self, name: str = "email") -> str:
        value = self.text(name, max_length=254, missing=N_("Fill in your e-mail address.")).lower()
        if name not in self.errors and not EMAIL_PATTERN.match(value):
            self.errors[name] = N_("Enter an e-mail address like name@example.nl.")
        return value

    def totp_code(self, name: str = "code") -> str:
        value = re.sub(r"\s+", "", self.text(name, max_length=32, missing=N_("Enter the code.")))
        if name not in self.errors and not TOTP_CODE_PATTERN.match(value):
            self.errors[name] = N_("The code consists of six digits.")
        return value

    def choice(self, name: str, options: dict[str, str] | list[str]) -> str:
        value = self.text(name, missing=N_("Choose one of the options."))
        if name not in self.errors and value not in options:
            self.errors[name] = N_("Choose one of the options.")
        return value

    @property
    def ok(self) -> bool:
        return not self.errors


def safe_next_path(
    value: object, default: str = "/dashboard", *, allow_login_pages: bool = False
) -> str:
    """A local path to go to after login; anything else (other sites, odd schemes) is refused."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(ch) < 32 for ch in value) or len(value) > 500:
        return default
    if value.startswith(("/logout", "/taal", "/api/")):
        return default
    if not allow_login_pages and value.startswith(("/login", "/account")):
        return default
    return value
