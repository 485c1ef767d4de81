"""The exception tree of Signaal.

    SignaalError                 base of every error Signaal raises on purpose
    ├── ConfigurationError       a setting is missing, malformed or unsafe (e.g. default secret key)
    ├── InputError               bad input from a user or a file; carries where and why
    │   ├── RecordError          one ad record is malformed (file, line, field, reason)
    │   ├── FieldError           one form or command value is invalid (field, reason)
    │   └── FieldErrors          several values of one form or API call are invalid (per field)
    ├── NotFoundError            a requested record does not exist (or may not be seen)
    ├── PermissionDenied         the actor may not perform the action on the resource
    ├── AuthenticationError      wrong credentials, expired or tampered session, bad second factor
    │   └── TooManyAttempts      login refused for a while after repeated failures (retry_after)
    ├── ConflictError            the change conflicts with the current state (duplicate, stale)
    │   └── LegalHoldError       a subject under a legal hold cannot be erased
    ├── StoreError               the app store failed (wraps the database error with context)
    └── AuditIntegrityError      the audit chain does not verify

Low-level errors are wrapped with context (``raise StoreError(...) from exc``) so that callers see
domain errors, never backend types. The web layer maps this tree onto one error shape
(``{"error": {"code": ..., "message": ...}}``) and onto friendly error pages.
"""

from __future__ import annotations


class SignaalError(Exception):
    """Base class of every deliberate Signaal error."""

    code: str = "error"
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(SignaalError):
    code = "configuration"


class InputError(SignaalError):
    code = "invalid_input"
    http_status = 422


class RecordError(InputError):
    """One input record is malformed. ``where`` is e.g. ``ads.jsonl:17``."""

    code = "invalid_record"

    def __init__(self, where: str, field: str | None, reason: str) -> None:
        location = f"{where} field {field!r}" if field else where
        super().__init__(f"{location}: {reason}")
        self.where = where
        self.field = field
        self.reason = reason


class FieldError(InputError):
    """One value of a form or command is invalid; ``field`` names it (e.g. ``"email"``)."""

    code = "invalid_field"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class FieldErrors(InputError):
    """Several values of one form or API call are invalid: ``fields`` maps each field to its
    reason. Raised before anything is changed, so that a form shows every problem at once."""

    code = "invalid_fields"

    def __init__(self, fields: dict[str, str]) -> None:
        if not fields:
            raise ValueError("FieldErrors needs at least one field")
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in fields.items()))
        self.fields = dict(fields)


class NotFoundError(SignaalError):
    code = "not_found"
    http_status = 404


class PermissionDenied(SignaalError):
    code = "forbidden"
    http_status = 403


class AuthenticationError(SignaalError):
    code = "unauthenticated"
    http_status = 401


class TooManyAttempts(AuthenticationError):
    """Too many failed attempts for an account or address; ``retry_after`` is in seconds."""

    code = "too_many_attempts"
    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConflictError(SignaalError):
    code = "conflict"
    http_status = 409


class LegalHoldError(ConflictError):
    """The subject is under a legal hold: lift the hold first (audited) or keep her records."""

    code = "legal_hold"


class StoreError(SignaalError):
    code = "store"


class AuditIntegrityError(SignaalError):
    code = "audit_integrity"
