"""Dutch by default, English available; catalogues complete and in step with the code."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from signaal.web.i18n import LOCALES, catalogue_path

ROOT = Path(__file__).resolve().parents[2]


def _extracted_ids() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    method_map = [
        ("src/signaal/web/**.py", "python"),
        ("src/signaal/web/templates/**.html", "jinja2"),
    ]
    options = {
        "src/signaal/web/templates/**.html": {
            "extensions": "jinja2.ext.i18n",
            "trim_blocks": "true",
            "lstrip_blocks": "true",
        }
    }
    ids: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options, keywords=keywords
    ):
        ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_is_complete_and_not_fuzzy(locale):
    with catalogue_path(locale).open("rb") as handle:
        catalogue = read_po(handle, locale=locale)
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(strings):
            problems.append(f"untranslated: {message.id!r}")
    assert not problems, f"{locale} catalogue: " + "; ".join(problems)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_in_the_code_is_in_the_catalogue(locale):
    with catalogue_path(locale).open("rb") as handle:
        catalogue = read_po(handle, locale=locale)
    known = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalogue if m.id}
    missing = sorted(_extracted_ids() - known)
    assert not missing, (
        f"strings missing from the {locale} catalogue (run scripts/i18n.py): {missing}"
    )


def test_dutch_by_default_and_english_on_request(client, csrf_of, accounts_by_role, sign_in):
    page = client.get("/login")
    assert '<html lang="nl">' in page.text
    assert "Inloggen bij Signaal" in page.text
    response = client.post(
        "/taal", data={"csrf_token": csrf_of(page.text), "taal": "en", "volgende": "/login"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "signaal_taal=en" in response.headers["set-cookie"]
    page = client.get("/login")
    assert '<html lang="en">' in page.text
    assert "Log in to Signaal" in page.text
    # The API speaks the chosen language too.
    assert "log in" in client.get("/api/v1/me").json()["error"]["message"].lower()


def test_language_choice_is_saved_with_the_account(
    client, state, csrf_of, accounts_by_role, sign_in
):
    from signaal.store.models import User

    account = accounts_by_role["viewer"]
    sign_in(account)
    page = client.get("/dashboard")
    client.post("/taal", data={"csrf_token": csrf_of(page.text), "taal": "en"})
    with state.sessions() as session:
        user = session.get(User, account.user_id)
        assert user is not None
        assert user.locale == "en"
    # A new browser (no language cookie) gets the saved language after login.
    client.cookies.delete("signaal_taal")
    assert '<html lang="en">' in client.get("/dashboard").text


def test_unknown_language_is_ignored(client, csrf_of):
    page = client.get("/login")
    response = client.post("/taal", data={"csrf_token": csrf_of(page.text), "taal": "xx"})
    assert response.status_code == 303
    assert "signaal_taal" not in response.headers.get("set-cookie", "")


def test_every_page_renders_in_english(client, accounts_by_role, sign_in, seeded_analysis):
    client.cookies.set("signaal_taal", "en")
    pages = {
        "analyst": [
            "/dashboard",
            "/analyse",
            "/analyse/netwerken/N-1/personas",
            "/analyse/personas/P-1",
            "/analyse/personas/P-1?doel=assess_signal",
            "/account/tweede-factor",
        ],
        "administrator": ["/beheer/gebruikers", "/beheer/audit", "/bestaat-niet"],
    }
    for role, paths in pages.items():
        sign_in(accounts_by_role[role])
        for path in paths:
            response = client.get(path)
            assert response.status_code in (200, 404), path
            assert '<html lang="en">' in response.text, path
            assert "Uitloggen" not in response.text, path
            if response.status_code == 200:  # unknown addresses never reach a guard
                assert "Log out" in response.text, path


def test_times_are_shown_in_dutch_local_time():
    from datetime import UTC, datetime

    from signaal.web.rendering import Renderer

    renderer = Renderer()
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    winter = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    show = renderer._environments["nl"].filters["datetime"]
    assert show(summer) == "1 jul 2026, 14:00"
    assert show(winter) == "15 jan 2026, 13:00"
    assert renderer._environments["en"].filters["datetime"](summer) == "1 Jul 2026, 14:00"
