"""Reading and checking HTML form values, with errors that name the field and say why.

Handlers check ``ctx.form`` with :class:`FormCheck` instead of FastAPI ``Form()`` parameters, so
that a missing or absurd value re-renders the form with the message next to the field (and
writes nothing) instead of a generic validation error.

Reading a form is in steps, so that nothing is parsed before the request has shown it may send
one (:func:`signaal.web.context.checked_submission` runs them): refuse uploads and declared
oversize bodies (:func:`refuse_unexpected_body`), read the size-limited raw body
(:func:`read_body`), take the CSRF token out of it cheaply (:func:`urlencoded_field`), and only
after the token checked out parse the fields (:func:`parse_urlencoded`). Only urlencoded forms
are read; no route of Signaal takes file uploads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from fastapi import HTTPException
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from signaal.web.i18n import N_, Message

MAX_FORM_FIELDS = 50
MAX_FIELD_BYTES = 64 * 1024
EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")
TOTP_CODE_PATTERN = re.compile(r"^\d{6}$")


# No form of Signaal comes near this; a larger body is refused (413) as soon as more has arrived,
# counted on the bytes received (chunked bodies too) by web.app.BodyLimit and again here.
MAX_BODY_BYTES = 256 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
URLENCODED = "application/x-www-form-urlencoded"
JSON = "application/json"
API_PREFIX = "/api/"


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def media_type(request: Request) -> str:
    """The request's content type without parameters, lower-case ("" when none)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def refuse_unexpected_body(request: Request) -> None:
    """Refuse, before reading anything, a body no route of Signaal takes: file uploads
    (multipart, 415) and a declared length over the limit (413)."""
    if media_type(request).startswith("multipart/"):
        raise HTTPException(status_code=415)
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise HTTPException(status_code=413)


def has_body(request: Request) -> bool:
    """Whether the request announces a body (a length above 0, or a chunked one)."""
    length = request.headers.get("content-length")
    if length is not None:
        return length != "0"
    return "transfer-encoding" in request.headers


def refuse_unexpected_api_body(request: Request) -> None:
    """On ``/api/`` paths a body is JSON (``application/json``, within MAX_BODY_BYTES like every
    body): any other kind of body is refused unread (415). Pages keep their urlencoded forms."""
    if not is_api_path(request.url.path) or not has_body(request):
        return
    if media_type(request) != JSON:
        raise HTTPException(status_code=415)


async def read_body(request: Request) -> bytes:
    """The raw body, refused with 413 as soon as it grows past MAX_BODY_BYTES (never spooled)."""
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_BODY_BYTES:
            raise HTTPException(status_code=413)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes) -> str:
    return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8", errors="replace")


def urlencoded_field(body: bytes, name: str) -> str | None:
    """The first value of field ``name`` in an urlencoded body, without parsing the others."""
    prefix = name.encode("ascii") + b"="
    for part in body.split(b"&"):
        if part.startswith(prefix):
            return _decode(part[len(prefix) :])
    return None


def parse_urlencoded(body: bytes) -> FormData:
    """The fields of an urlencoded body (UTF-8; 413 for too many or too long fields)."""
    fields: list[tuple[str, str | UploadFile]] = []
    for part in body.split(b"&"):
        if not part:
            continue
        if len(fields) >= MAX_FORM_FIELDS:
            raise HTTPException(status_code=413)
        raw_name, _, raw_value = part.partition(b"=")
        if len(raw_value) > MAX_FIELD_BYTES * 3:  # percent-encoding triples a byte at most
            raise HTTPException(status_code=413)
        value = _decode(raw_value)
        if len(value.encode("utf-8")) > MAX_FIELD_BYTES:
            raise HTTPException(status_code=413)
        fields.append((_decode(raw_name), value))
    return FormData(fields)


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
