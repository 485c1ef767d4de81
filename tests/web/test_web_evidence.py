"""Evidence reports of a persona and a network (``…/bewijs.html``, ``…/bewijs.pdf``): what they
hold, that the same inputs (the export moment included) give the same bytes, that the audit log
holds the SHA-256 of the bytes served, masking per role, and hostile ad text escaped."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from signaal.ads.outputs import reason_record
from signaal.ads.types import Reason, ReasonFacts
from signaal.privacy.sealing import Sealer
from signaal.store.contacts import save_contact_points
from signaal.store.db import transaction
from signaal.store.models import AuditEvent
from signaal.web import evidence
from signaal.web.app import WebState
from signaal.web.security import LOCALE_COOKIE

from .conftest import TEST_CONTACT_KEY, Account, SignIn, analysis_rows, store_analysis

PHONE = "phone:8408aa11bb22cc33"
CLEAR = "+31694320989"  # synthetic: +31 6 9… is not given to subscribers
MOMENT = datetime(2026, 11, 30, 9, 15, 0, tzinfo=UTC)
PERSONA_HTML = "/analyse/personas/P-1/bewijs.html?doel=protection"
PERSONA_PDF = "/analyse/personas/P-1/bewijs.pdf?doel=protection"
NETWORK_HTML = "/analyse/netwerken/N-1/bewijs.html?doel=protection"
NETWORK_PDF = "/analyse/netwerken/N-1/bewijs.pdf?doel=protection"


def _rows(text: str | None = None, title: str | None = None) -> dict[str, list[dict[str, object]]]:
    rows = analysis_rows()
    reasons = [
        Reason(
            "C01",
            "C",
            3.0,
            f"phone {PHONE} shared by 6 personas [ads A-1]",
            ReasonFacts(
                "shared_contact",
                figures=(("personas", 6),),
                ad_ids=("A-1",),
                contact=PHONE,
                contact_kind="phone",
                masked="06-•••••89",
            ),
        ),
    ]
    rows["personas"][0]["reasons_json"] = json.dumps([reason_record(r) for r in reasons])
    rows["networks"][0]["reasons_json"] = json.dumps([reason_record(r) for r in reasons])
    rows["networks"][0]["contact_points"] = PHONE
    first = rows["ads"][0]
    first["text"] = text if text is not None else f"Dag en nacht bereikbaar. Bel [{PHONE}]"
    if title is not None:
        first["title"] = title
    # Fixed moments: the bytes of a report depend on the data only.
    first["posted_at"] = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    rows["ads"][1]["posted_at"] = datetime(2026, 11, 10, 20, 0, tzinfo=UTC)
    rows["movements"][0]["at"] = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
    return rows


def _store(state: WebState, organisation_id: int, rows: dict[str, list[dict[str, object]]]) -> int:
    with transaction(state.sessions) as session:
        run_id = store_analysis(session, state.settings, organisation_id, rows)
        save_contact_points(session, run_id, {PHONE: CLEAR}, Sealer(TEST_CONTACT_KEY))
    return run_id


@pytest.fixture
def runs(state: WebState, accounts_by_role: dict[str, Account]) -> dict[str, int]:
    """The same analysis stored for the GGD (analyst, care coordinator, outreach worker, viewer)
    and for the police; the export moment fixed."""
    state.clock = lambda: MOMENT
    return {
        role: _store(state, accounts_by_role[role].organisation_id, _rows())
        for role in ("care_coordinator", "police_officer")
    }


def _events(state: WebState, action: str) -> list[AuditEvent]:
    with state.sessions() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
            )
        )


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _ad_hash(ad_id: str, title: str, text: str, posted: str) -> str:
    """The ad's SHA-256 as the report documents it, computed here independently."""
    content = {
        "ad_id": ad_id,
        "municipality": "Utrecht",
        "posted_at": posted,
        "site": None,
        "text": text,
        "title": title,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_persona_html_holds_the_report_and_masks_for_the_care_coordinator(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    runs: dict[str, int],
) -> None:
    account = accounts_by_role["care_coordinator"]
    sign_in(account)
    response = client.get(PERSONA_HTML)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="signaal-bewijs-persona-P-1-run{runs["care_coordinator"]}.html"'
    )
    html = response.text
    assert '<html lang="nl">' in html
    # The header: organisation, who, when, run and versions.
    assert "Test GGD" in html
    assert account.email in html
    assert "Zorgcoördinator" in html
    assert "2026-11-30 09:15:00 UTC" in html
    assert f"<dd>{runs['care_coordinator']} (bron: matrix-test)</dd>" in html
    assert "Signaal 0.1.0, indicatorenversie" in html
    # What it is and is not.
    assert "Signalen, geen bewijs" in html
    assert "Een mens beslist" in html
    # The reasons in plain Dutch, the contact point masked.
    assert "Hetzelfde telefoonnummer (06-•••••89) staat in advertenties van 6" in html
    assert "[06-•••••89]" in html
    assert CLEAR not in html
    assert "69432" not in html
    # Both ads with their stored content's SHA-256 and time.
    assert "Nieuw in Utrecht" in html
    assert "Eerder in Amersfoort" in html
    assert "2026-11-20 21:00:00 UTC" in html
    first = _ad_hash(
        "A-1",
        "Nieuw in Utrecht",
        f"Dag en nacht bereikbaar. Bel [{PHONE}]",
        "2026-11-20T21:00:00+00:00",
    )
    assert first in html
    # The CSP: a linked stylesheet, no script, no inline style.
    assert '<link rel="stylesheet" href="/static/css/evidence.css">' in html
    assert "<script" not in html
    assert " style=" not in html
    assert "<style" not in html
    assert client.get("/static/css/evidence.css").status_code == 200
    # Audited with the SHA-256 of the bytes served, without the content; no reveal.
    (event,) = _events(state, "evidence.exported")
    details = json.loads(event.details)
    assert details == {
        "run_id": runs["care_coordinator"],
        "kind": "persona",
        "item_id": "P-1",
        "format": "html",
        "lang": "nl",
        "n_ads": 2,
        "n_revealed": 0,
        "sha256": hashlib.sha256(response.content).hexdigest(),
    }
    assert event.purpose == "protection"
    assert event.actor_email == account.email
    assert response.headers["x-content-sha256"] == details["sha256"]
    assert _events(state, "contact_point.revealed") == []


def test_persona_pdf_is_reproducible_and_audited(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    runs: dict[str, int],
) -> None:
    sign_in(accounts_by_role["care_coordinator"])
    first = client.get(PERSONA_PDF)
    second = client.get(PERSONA_PDF)
    assert first.status_code == second.status_code == 200
    assert first.headers["content-type"] == "application/pdf"
    assert first.content.startswith(b"%PDF-")
    assert first.content == second.content
    digests = [json.loads(e.details)["sha256"] for e in _events(state, "evidence.exported")]
    assert digests == [hashlib.sha256(first.content).hexdigest()] * 2
    # The PDF's dates and identifier come from the export moment and the document.
    reader = PdfReader(io.BytesIO(first.content))
    assert reader.metadata is not None
    assert str(reader.metadata["/CreationDate"]).startswith("D:20261130091500")
    html = client.get(PERSONA_HTML).content  # the document the PDF was made from
    identifiers = reader.trailer["/ID"]
    assert isinstance(identifiers, list)
    assert str(identifiers[0]) == hashlib.sha256(html).hexdigest()[:32]
    assert reader.metadata["/ModDate"] == reader.metadata["/CreationDate"]
    # The fonts are the DejaVu files, embedded (TrueType subsets), and no other.
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():  # type: ignore[index]
            descendant = font.get_object()["/DescendantFonts"][0].get_object()
            assert "/FontFile2" in descendant["/FontDescriptor"].get_object()
            fonts.add(str(font.get_object()["/BaseFont"]).partition("+")[2])
    assert fonts == {"DejaVu-Sans", "DejaVu-Sans-Bold", "DejaVu-Sans-Mono"}
    text = _pdf_text(first.content)
    assert "Pagina 1 van" in text
    assert "Signalen, geen bewijs" in text
    assert "Nieuw in Utrecht" in text
    # Masked for a role that may not reveal: in the PDF's text too.
    assert "06-•••••89" in text
    assert CLEAR not in text
    assert "69432" not in text
    # Another export moment is another document.
    state.clock = lambda: datetime(2026, 11, 30, 9, 16, 0, tzinfo=UTC)
    assert client.get(PERSONA_PDF).content != first.content
    # Other data (a new run with one word changed), the same moment: other bytes.
    state.clock = lambda: MOMENT
    _store(
        state,
        accounts_by_role["care_coordinator"].organisation_id,
        _rows(text=f"Dag en nacht bereikbaar! Bel [{PHONE}]"),
    )
    assert client.get(PERSONA_PDF).content != first.content


def test_pdf_bytes_do_not_depend_on_the_process(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, runs: dict[str, int]
) -> None:
    """The same report rendered in a fresh Python process (other hash seed, other font cache,
    no state of this one) is byte for byte the same."""
    sign_in(accounts_by_role["care_coordinator"])
    html = client.get(PERSONA_HTML).content
    pdf = client.get(PERSONA_PDF).content
    script = (
        "import sys\n"
        "from signaal.web.evidence import render_pdf\n"
        "html = sys.stdin.buffer.read()\n"
        "import hashlib\n"
        "title = sys.argv[1]\n"
        "sys.stdout.buffer.write(render_pdf(html, lang='nl', running_title=title,"
        " identifier=hashlib.sha256(html).hexdigest()[:32]))\n"
    )
    title = f"Signaal · Test GGD · persona P-1 · run {runs['care_coordinator']}"
    result = subprocess.run(
        [sys.executable, "-c", script, title],
        input=html,
        capture_output=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
    )
    assert result.stdout == pdf


def test_police_officer_sees_contact_points_revealed_and_audited(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    runs: dict[str, int],
) -> None:
    sign_in(accounts_by_role["police_officer"])
    html = client.get(PERSONA_HTML)
    assert html.status_code == 200
    assert f"[{CLEAR}]" in html.text
    assert "Test Politie" in html.text
    pdf = client.get(PERSONA_PDF)
    assert CLEAR in _pdf_text(pdf.content)
    reveals = _events(state, "contact_point.revealed")
    assert len(reveals) == 2  # once per export
    assert all(e.record_id == PHONE and e.purpose == "protection" for e in reveals)
    assert all(CLEAR not in e.details for e in reveals)
    exported = [json.loads(e.details) for e in _events(state, "evidence.exported")]
    assert [e["n_revealed"] for e in exported] == [1, 1]
    assert [e["format"] for e in exported] == ["html", "pdf"]
    assert all(CLEAR not in json.dumps(e) for e in exported)


def test_network_report_in_html_and_pdf(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    runs: dict[str, int],
) -> None:
    sign_in(accounts_by_role["analyst"])  # the GGD's analyst may reveal
    html = client.get(NETWORK_HTML)
    assert html.status_code == 200
    assert "Bewijsrapport: netwerk N-1" in html.text
    assert "Persona P-1" in html.text
    assert "Nieuw in Utrecht" in html.text
    assert "Eerder in Amersfoort" in html.text
    assert CLEAR in html.text
    pdf = client.get(NETWORK_PDF)
    assert pdf.status_code == 200
    assert pdf.content == client.get(NETWORK_PDF).content
    text = _pdf_text(pdf.content)
    assert "netwerk N-1" in text
    assert "Eerder in Amersfoort" in text
    exported = [json.loads(e.details) for e in _events(state, "evidence.exported")]
    assert [(e["kind"], e["format"], e["n_ads"]) for e in exported] == [
        ("network", "html", 2),
        ("network", "pdf", 2),
        ("network", "pdf", 2),
    ]
    assert exported[1]["sha256"] == hashlib.sha256(pdf.content).hexdigest()


def test_report_in_english_by_language_choice(
    client: TestClient, accounts_by_role: dict[str, Account], sign_in: SignIn, runs: dict[str, int]
) -> None:
    sign_in(accounts_by_role["care_coordinator"])
    client.cookies.set(LOCALE_COOKIE, "en")
    html = client.get(PERSONA_HTML).text
    assert '<html lang="en">' in html
    assert "Signals, not proof" in html
    assert "The same phone number (06-•••••89) appears in ads of 6 different personas." in html
    assert "Page 1 of" in _pdf_text(client.get(PERSONA_PDF).content)
    # The language may also be chosen for the report alone.
    client.cookies.delete(LOCALE_COOKIE)
    assert '<html lang="en">' in client.get(PERSONA_HTML + "&taal=en").text


def test_purpose_first(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    runs: dict[str, int],
) -> None:
    sign_in(accounts_by_role["care_coordinator"])
    page = client.get("/analyse/personas/P-1/bewijs.pdf")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'action="/analyse/personas/P-1/bewijs.pdf"' in page.text
    assert client.get("/analyse/netwerken/N-1/bewijs.html?doel=curious").status_code == 422
    assert _events(state, "evidence.exported") == []


@pytest.mark.parametrize("role", ["outreach_worker", "viewer", "administrator", "policy_officer"])
def test_roles_without_the_action_are_refused(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    runs: dict[str, int],
    role: str,
) -> None:
    sign_in(accounts_by_role[role])
    for path in (PERSONA_HTML, PERSONA_PDF, NETWORK_HTML, NETWORK_PDF):
        assert client.get(path).status_code == 403
    assert _events(state, "evidence.exported") == []
    assert len(_events(state, "access.denied")) == 4


def test_another_organisations_persona_is_refused_like_a_missing_one(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    runs: dict[str, int],
) -> None:
    rows = analysis_rows("ggd")  # P-1-ggd and N-1-ggd: only the GGD's run holds them
    with transaction(state.sessions) as session:
        store_analysis(session, state.settings, accounts_by_role["analyst"].organisation_id, rows)
    sign_in(accounts_by_role["police_officer"])
    for path in (
        "/analyse/personas/P-1-ggd/bewijs.pdf?doel=protection",
        "/analyse/netwerken/N-1-ggd/bewijs.html?doel=protection",
        "/analyse/personas/P-nowhere/bewijs.html?doel=protection",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "ggd-tekst" not in response.text
    assert _events(state, "evidence.exported") == []
    assert len(_events(state, "access.denied")) == 3


HOSTILE_TITLE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
RTL = "\u202e"
HUGE = "A" * 60_000 + " " + "lang woord " * 3_000


def test_hostile_ad_text_is_escaped(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
) -> None:
    state.clock = lambda: MOMENT
    text = f'{RTL}gnp.exe</p><style>body{{display:none}}</style>"><a href="http://x.test">{HUGE}'
    _store(
        state,
        accounts_by_role["care_coordinator"].organisation_id,
        _rows(text=text, title=HOSTILE_TITLE),
    )
    sign_in(accounts_by_role["care_coordinator"])
    html = client.get(PERSONA_HTML).text
    assert "<script" not in html
    assert "<img" not in html
    assert "<style" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;/p&gt;&lt;style&gt;" in html
    assert '<a href="http://x.test"' not in html
    # The right-to-left override is shown, not obeyed.
    assert RTL not in html
    assert '<span class="control">[U+202E]</span>gnp.exe' in html
    # The whole text is there; a long run of characters gets places to break (<wbr>).
    assert "A" * 60_000 in html.replace("<wbr>", "")
    assert "A" * 64 + "<wbr>" in html
    pdf = client.get(PERSONA_PDF)
    assert pdf.status_code == 200
    text_of_pdf = _pdf_text(pdf.content)
    assert '<script>alert("x")</script>' in text_of_pdf  # as text, not run
    assert RTL not in text_of_pdf
    assert len(PdfReader(io.BytesIO(pdf.content)).pages) > 3  # the huge text flows over pages


def test_persona_and_network_pages_link_the_reports(
    client: TestClient,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    runs: dict[str, int],
) -> None:
    sign_in(accounts_by_role["care_coordinator"])
    persona = client.get("/analyse/personas/P-1?doel=protection").text
    assert 'href="/analyse/personas/P-1/bewijs.pdf?doel=protection"' in persona
    assert 'href="/analyse/personas/P-1/bewijs.html?doel=protection"' in persona
    network = client.get("/analyse/netwerken/N-1/personas").text
    assert 'href="/analyse/netwerken/N-1/bewijs.pdf"' in network
    # Roles without the action see no link.
    sign_in(accounts_by_role["outreach_worker"])
    assert "bewijs.pdf" not in client.get("/analyse/personas/P-1?doel=protection").text


def test_a_network_report_says_when_it_leaves_ads_out(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    runs: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(evidence, "MAX_ADS", 1)
    sign_in(accounts_by_role["care_coordinator"])
    html = client.get(NETWORK_HTML).text
    assert "Dit rapport toont de nieuwste 1 van de 2 advertenties." in html
    assert "Nieuw in Utrecht" in html  # the newest
    assert "Eerder in Amersfoort" not in html
    (event,) = _events(state, "evidence.exported")
    assert json.loads(event.details)["n_ads"] == 1


def test_an_ingested_ad_shows_how_it_was_received_with_its_address_masked(
    client: TestClient,
    state: WebState,
    accounts_by_role: dict[str, Account],
    sign_in: SignIn,
    runs: dict[str, int],
) -> None:
    from ads.adfactories import record_json
    from signaal.ads.read import record_from_object
    from signaal.chain.authz import SYSTEM
    from signaal.store import ingested

    account = accounts_by_role["care_coordinator"]
    # The site put the phone number in the address of the ad.
    record = record_json(id="A-1", url=f"https://example.test/ads/{CLEAR.replace(' ', '')}/1")
    received_at = datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    with transaction(state.sessions) as session:
        ingested.ingest(
            session,
            [record_from_object(record, "drop.jsonl", 1, json.dumps(record))],
            organisation_id=account.organisation_id,
            source="drop.jsonl",
            now=received_at,
            actor=SYSTEM,
            retention_days=30,
        )
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    sign_in(account)
    html = client.get(PERSONA_HTML).text
    assert hashlib.sha256(canonical.encode()).hexdigest() in html
    assert (
        "eerst 2026-11-29 07:00:00 UTC, laatst 2026-11-29 07:00:00 UTC, 1 keer (drop.jsonl)" in html
    )
    assert "https://example.test/ads/" in html
    assert CLEAR.replace(" ", "") not in html
    assert CLEAR not in html
    # The other ad came by `signaal analyse --store`: no received facts for it.
    assert html.count("SHA-256 zoals ontvangen") == 1
