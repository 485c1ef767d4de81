"""Server-side rendering: one Jinja2 environment per language, autoescaped, translated by Babel.

One environment per locale (instead of swapping translations on a shared one) keeps rendering
thread-safe: a request in English never sees Dutch half-way through a page.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_datetime
from babel.numbers import format_decimal
from starlette.requests import Request
from starlette.responses import HTMLResponse

from signaal.web.i18n import LOCALE_NAMES, LOCALES, Message, translations_for

# Times are stored in UTC and shown as the partners read their clocks.
DISPLAY_TIMEZONE = ZoneInfo("Europe/Amsterdam")

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"


def _static_versions() -> dict[str, str]:
    """Content hash per static file, appended to its URL so browsers never use a stale copy."""
    versions: dict[str, str] = {}
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            relative = path.relative_to(STATIC_DIR).as_posix()
            versions[relative] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return versions


def listing(value: object) -> list[str]:
    """The items of a stored list: a JSON array, or lines / semicolon-separated text."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [_item_text(item) for item in value]
    text = str(value).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [_item_text(item) for item in parsed]
    separator = "\n" if "\n" in text else ";"
    return [part.strip() for part in text.split(separator) if part.strip()]


def _item_text(item: object) -> str:
    if isinstance(item, dict):
        for key in ("text", "reason", "label", "name", "id"):
            if key in item:
                return str(item[key])
    return str(item)


# Thresholds of the risk scale (0-100) for colour and wording; the score itself is always shown.
RISK_HIGH = 70
RISK_MEDIUM = 40


def risk_class(score: float | int | None) -> str:
    if score is None:
        return "risk-low"
    if score >= RISK_HIGH:
        return "risk-high"
    if score >= RISK_MEDIUM:
        return "risk-medium"
    return "risk-low"


MAX_RETURN_PATH = 500  # what signaal.web.forms.safe_next_path accepts


class Renderer:
    """Renders templates in the request's language with the page context every template needs."""

    def __init__(self) -> None:
        self._versions = _static_versions()
        self._environments = {locale: self._environment(locale) for locale in LOCALES}

    def _environment(self, locale: str) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        translations = translations_for(locale)
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]

        def translate(text: str | Message) -> str:
            if isinstance(text, Message):
                return text.translate(translations)
            return translations.gettext(text)

        def datetime_filter(value: datetime | None, pattern: str = "d MMM y, HH:mm") -> str:
            if value is None:
                return ""
            return format_datetime(value, format=pattern, tzinfo=DISPLAY_TIMEZONE, locale=locale)

        def number_filter(value: float | int | None, digits: int = 2) -> str:
            if value is None:
                return ""
            pattern = "#,##0" + ("." + "0" * digits if digits else "")
            return format_decimal(value, format=pattern, locale=locale)

        env.globals.update(
            t=translate,
            static_url=self.static_url,
            locale=locale,
            locales=LOCALES,
            locale_names=LOCALE_NAMES,
        )
        env.filters["datetime"] = datetime_filter
        env.filters["listing"] = listing
        env.filters["risk_class"] = risk_class
        env.filters["number"] = number_filter
        return env

    def static_url(self, path: str) -> str:
        version = self._versions.get(path)
        if version is None:
            raise jinja2.TemplateNotFound(f"static/{path}")
        return f"/static/{path}?v={version}"

    def render_text(self, locale: str, template: str, context: Mapping[str, Any]) -> str:
        return self._environments[locale].get_template(template).render(**context)

    def page(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        """An HTML page in the request's language (see ``signaal.web.context``)."""
        state = request.state
        locale: str = getattr(state, "locale", LOCALES[0])
        full: dict[str, Any] = {
            "request": request,
            # A plain snapshot: error pages render after the request's session has closed.
            "viewer": getattr(state, "viewer", None),
            "csrf_token": getattr(state, "csrf_token", ""),
            "nav": getattr(state, "nav", ()),
            "signed_in": getattr(state, "signed_in", False),
            "current_path": request.url.path,
            # The page with its query (filters, a stated purpose): where a language switch
            # returns to; only the path when the query would make it too long.
            "current_url": _with_query(request),
        }
        full.update(context or {})
        return HTMLResponse(self.render_text(locale, template, full), status_code=status_code)


def _with_query(request: Request) -> str:
    path, query = request.url.path, request.url.query
    if query and len(path) + 1 + len(query) <= MAX_RETURN_PATH:
        return f"{path}?{query}"
    return path
