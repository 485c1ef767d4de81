"""Security plumbing of the web app: headers, signed cookies and CSRF tokens.

* Every response carries a strict Content-Security-Policy (no inline scripts or styles, nothing
  from other origins), ``X-Content-Type-Options``, ``Referrer-Policy: no-referrer``,
  ``X-Frame-Options: DENY``, a restrictive ``Permissions-Policy`` and, outside development,
  ``Strict-Transport-Security``.
* The session cookie holds the random token of the login session (``signaal.chain.sessions``),
  signed with the secret key, so a tampered cookie is recognised before the database is asked.
  Outside development it is a ``__Host-`` cookie (``Secure``, ``Path=/``, no ``Domain``); it is
  always ``HttpOnly`` and ``SameSite=Strict``.
* CSRF: a synchronizer token derived (HMAC) from the login session's token, so it is tied to the
  session and dies with it. Before login (the login form itself) the token is derived from a
  random pre-session nonce in its own signed cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, Signer
from starlette.responses import Response

from signaal.settings import Environment, Settings

CSRF_FORM_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LOCALE_COOKIE = "signaal_taal"

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
)


def security_headers(settings: Settings) -> list[tuple[str, str]]:
    headers = [
        ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", PERMISSIONS_POLICY),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]
    if settings.env is not Environment.DEVELOPMENT:
        headers.append(("Strict-Transport-Security", "max-age=63072000; includeSubDomains"))
    return headers


@dataclass(frozen=True)
class CookiePolicy:
    """Names and attributes of Signaal's cookies for one deployment."""

    secure: bool
    max_age: int

    @classmethod
    def for_settings(cls, settings: Settings) -> CookiePolicy:
        return cls(
            secure=settings.env is not Environment.DEVELOPMENT,
            max_age=settings.session_max_age_seconds,
        )

    @property
    def session_cookie(self) -> str:
        # __Host- binds the cookie to this exact origin over HTTPS (no Domain, Path=/).
        return "__Host-signaal_sessie" if self.secure else "signaal_sessie"

    @property
    def pre_session_cookie(self) -> str:
        return "__Host-signaal_pre" if self.secure else "signaal_pre"

    def set(self, response: Response, name: str, value: str, *, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )

    def delete(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", secure=self.secure, httponly=True, samesite="strict")


class TokenSigner:
    """Signs and checks the values that Signaal puts in cookies, and derives CSRF tokens."""

    def __init__(self, secret_key: str) -> None:
        self._key = secret_key.encode("utf-8")
        self._session = Signer(secret_key, salt="signaal.web.session")
        self._pre_session = Signer(secret_key, salt="signaal.web.pre-session")

    def sign_session(self, token: str) -> str:
        return self._session.sign(token).decode("ascii")

    def unsign_session(self, cookie: str) -> str | None:
        """The raw session token, or None when the cookie was not signed by us."""
        return _unsign(self._session, cookie)

    def new_pre_session(self) -> tuple[str, str]:
        """A fresh pre-session nonce and its signed cookie value."""
        nonce = secrets.token_urlsafe(32)
        return nonce, self._pre_session.sign(nonce).decode("ascii")

    def unsign_pre_session(self, cookie: str) -> str | None:
        return _unsign(self._pre_session, cookie)

    def csrf_token(self, seed: str, *, kind: str) -> str:
        """The CSRF token for a session token (kind "session") or a pre-session nonce ("pre")."""
        message = f"signaal.web.csrf:{kind}:{seed}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def csrf_matches(self, seed: str, *, kind: str, candidate: str) -> bool:
        return hmac.compare_digest(self.csrf_token(seed, kind=kind), candidate)


def _unsign(signer: Signer, value: str) -> str | None:
    try:
        return signer.unsign(value).decode("utf-8")
    except (BadSignature, UnicodeDecodeError):
        return None
