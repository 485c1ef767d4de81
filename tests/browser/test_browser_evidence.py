"""In a real browser: a demo police officer opens a network, chooses the evidence export,
answers the purpose question and gets the HTML report (a download); the same response, shown
in the browser with the headers it was served with (its CSP too), renders with its stylesheet,
logs no console or CSP error and passes axe-core; the PDF link answers with a PDF. On a desktop
and on a phone, where no page scrolls sideways."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from web.test_web_watchlists import FIRST

from .test_browser_analysis import DESKTOP
from .test_browser_local_picture import _axe_violations
from .test_browser_login import PHONE
from .test_browser_triage import _shots
from .test_browser_watchlist import check_page, log_in, store_run

pytestmark = pytest.mark.browser

OFFICER = "police_officer"


def _choose_purpose(page: Page, shots: Path, name: str) -> None:
    expect(page.locator("h1")).to_have_text("Waarom exporteer je dit rapport?")
    check_page(page, shots, name)
    page.get_by_label("Bescherming of opsporing").check()


def _show_inline(route: Route) -> None:
    """The report as served, but shown instead of saved (without Content-Disposition)."""
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-disposition"}
    route.fulfill(response=response, headers=headers)


def _export(page: Page, url: str, shots: Path, label: str) -> None:
    """From the network page: the export link, the purpose page, the report."""
    errors = log_in(page, url, OFFICER)
    page.goto(url + "/analyse/netwerken/N-W/personas")
    expect(page.locator("h1")).to_have_text("Netwerk N-W")
    check_page(page, shots, f"e1-network-{label}")

    # HTML: the purpose first; then the browser saves the report.
    page.get_by_role("link", name="Exporteren als html").click()
    _choose_purpose(page, shots, f"e2-purpose-{label}")
    with page.expect_download() as html_download:
        page.get_by_role("button", name="Exporteren").click()
    download = html_download.value
    assert download.suggested_filename.startswith("signaal-bewijs-network-N-W-run")
    assert download.suggested_filename.endswith(".html")
    html_path = download.path()
    assert html_path is not None
    assert "Bewijsrapport" in Path(html_path).read_text(encoding="utf-8")
    report_url = download.url
    assert "/analyse/netwerken/N-W/bewijs.html?doel=protection" in report_url

    # The same report in the browser, under the headers the app sends (its CSP).
    page.route("**/bewijs.html?*", _show_inline)
    response = page.goto(report_url)
    assert response is not None
    assert response.ok
    assert response.headers["content-type"].startswith("text/html")
    assert "content-security-policy" in response.headers
    expect(page.locator("h1")).to_contain_text("N-W")
    expect(page.locator("body")).to_contain_text("Bescherming of opsporing")
    expect(page.locator("body")).to_contain_text("P-W1")
    # The stylesheet applied (a link, not inline: the CSP would refuse inline style).
    sheets = page.evaluate("() => document.styleSheets.length")
    assert sheets >= 1
    assert page.evaluate("() => document.styleSheets[0].cssRules.length") > 0
    page.screenshot(path=str(shots / f"e3-report-{label}.png"), full_page=True)
    # Laid out for the screen it is on (a page without a viewport is a 980px page on a phone).
    width = page.evaluate("() => document.documentElement.clientWidth")
    viewport = page.viewport_size
    assert viewport is not None
    assert width <= viewport["width"], f"report on {label} is laid out {width}px wide"
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"report on {label} scrolls sideways by {overflow}px"
    violations = _axe_violations(page)
    assert violations == [], f"report on {label}: axe-core: {violations}"
    page.unroute("**/bewijs.html?*")

    # PDF: the same question, then a PDF.
    page.goto(url + "/analyse/netwerken/N-W/personas")
    page.get_by_role("link", name="Exporteren als pdf").click()
    _choose_purpose(page, shots, f"e4-purpose-pdf-{label}")
    with page.expect_download() as pdf_download:
        page.get_by_role("button", name="Exporteren").click()
    pdf = pdf_download.value
    assert pdf.suggested_filename.endswith(".pdf")
    pdf_path = pdf.path()
    assert pdf_path is not None
    assert Path(pdf_path).read_bytes().startswith(b"%PDF-")
    answer = page.request.get(pdf.url)
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.body().startswith(b"%PDF-")
    assert errors == [], f"browser console errors: {errors}"


def test_evidence_export_on_a_desktop(browser: Browser, live_server, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    store_run(live_server.settings, OFFICER, FIRST)
    shots = _shots(tmp_path_factory)
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    _export(context.new_page(), live_server.url, shots, "desktop")
    context.close()


def test_evidence_export_on_a_phone(browser: Browser, live_server, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    store_run(live_server.settings, OFFICER, FIRST)
    shots = _shots(tmp_path_factory)
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, accept_downloads=True
    )
    _export(context.new_page(), live_server.url, shots, "phone")
    context.close()


def test_evidence_export_from_a_persona_page(  # type: ignore[no-untyped-def]
    browser: Browser, live_server, tmp_path_factory
) -> None:
    """The persona page was opened for a purpose: its links export at once, with that one."""
    store_run(live_server.settings, OFFICER, FIRST)
    shots = _shots(tmp_path_factory)
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True)
    page = context.new_page()
    errors = log_in(page, live_server.url, OFFICER)
    page.goto(live_server.url + "/analyse/personas/P-W1?doel=protection")
    expect(page.locator("h1")).to_contain_text("Persona P-W1")
    check_page(page, shots, "e5-persona-desktop")
    with page.expect_download() as html_download:
        page.get_by_role("link", name="Exporteren als html").click()
    html = html_download.value
    assert html.suggested_filename.startswith("signaal-bewijs-persona-P-W1-run")
    html_path = html.path()
    assert html_path is not None
    text = Path(html_path).read_text(encoding="utf-8")
    assert "Bewijsrapport: persona P-W1" in text
    assert "Bescherming of opsporing" in text
    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="Exporteren als pdf").click()
    answer = page.request.get(pdf_download.value.url)
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.body().startswith(b"%PDF-")
    assert errors == [], f"browser console errors: {errors}"
    context.close()
