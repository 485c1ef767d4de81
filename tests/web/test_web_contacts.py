"""No contact point in the clear anywhere; one revealed on screen only, for a purpose, audited.

A synthetic corpus (the generator plants disguised numbers) plus hostile ads of our own (the same
number twice, O for 0, Dutch and English digit words, spaced digits, e-mail addresses, handles,
websites, quarantined lines holding numbers) goes through ``signaal analyse --store``. Then no
contact point — canonical, national, or as the ad wrote it — may appear in any output file, in
any table of the store, nor in any page or API answer for any role. Only ``POST …/contactpunten``
shows one, to the roles that may, for a run of their own organisation, with a purpose, audited.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy import inspect, select, text
from typer.testing import CliRunner

from signaal.ads.contacts import contacts_in_text
from signaal.ads.normalise import normalise
from signaal.ads.records import AdRecord
from signaal.cli import app as cli
from signaal.privacy.pseudonyms import pseudonym
from signaal.settings import get_settings
from signaal.store.db import make_engine
from signaal.store.models import AnalysisAd, AnalysisContactPoint, AnalysisRun, AuditEvent

from .conftest import TEST_CONTACT_KEY, TEST_DATA_KEY, TEST_PSEUDONYM_KEY

runner = CliRunner()

# Synthetic numbers and addresses only (+31 6 9… is not allocated to subscribers).
HOSTILE_TEXTS = {
    "h:twice": "Bel 06-94320989 of app me, nogmaals: 06-94320989. Echt 06 94 32 09 89!",
    "h:o-for-0": "Nieuw! Bel O6.94.32.O9.88 of O69432O987, altijd bereikbaar",
    "h:dutch": "Bel nul zes negen vier drie twee nul negen acht zes, ook whatsapp",
    "h:english": "Call zero six nine four three two zero nine eight five anytime",
    "h:spaced": "sms 0 6 9 4 3 2 0 9 8 4 of mail sweet.anna.test@example.nl",
    "h:mail": "Mail bella.test [at] example [dot] com of anna.test@example.org voor info",
    "h:handles": "telegram: @carla_test99 · snap: dianatest77 · instagram.com/evatest22",
    "h:site": "Kijk op www.femke-test-escort.nl of wa.me/31694320983 en bel +31 6 9432 0982",
    "h:mixed": "Bel 06 nul 9 4 3 2 0 9 8 1 (privé) of 06-94320981 en 0694320981",
}


def _hostile_records() -> list[dict[str, object]]:
    records: list[dict[str, object]] = []
    for index, (ad_id, ad_text) in enumerate(HOSTILE_TEXTS.items()):
        records.append(
            {
                "id": ad_id,
                "site": "bel 0694320977" if index == 4 else "hostile",
                "url": f"https://example.test/h/{index}",
                "posted_at": f"2026-03-{index + 1:02d}T10:00:00+01:00",
                "title": f"Nieuw 06-9432098{index} Lisa" if index % 2 else "Lisa",
                "text": ad_text,
                "city": "Bel 0694320976" if index == 5 else "Utrecht",
                "phones": ["+31 6 9433 0000", "O6-9433OOO1"] if index == 0 else [],
                "emails": ["field.test@example.nl"] if index == 1 else [],
                "handles": ["telegram:@fieldhandle_test"] if index == 2 else [],
                # Fields the author writes freely may hold a number as well.
                "name": "Lisa nul zes negen vier drie twee nul negen zeven acht"
                if index == 3
                else "Lisa",
                "age": 24,
                "origin": None,
                "category": "escort",
                "prices": {"60min": 150},
                "images": [],
            }
        )
    return records


QUARANTINED_LINES = [
    # A bad date, and a number in the reason and the raw line.
    orjson.dumps(
        {
            **_hostile_records()[0],
            "id": "q:1",
            "posted_at": "0694329999 is geen datum",
        }
    ),
    # Broken JSON with a number and a JSON escape right before another number.
    b'{"id": "q:2", "text": "bel 06-94329998\\n0694329997 of sweet.q2@example.nl',
]


def _needles(corpus: Path) -> set[str]:
    """Every way each contact point of the corpus could appear: canonical, national, as written
    in the ad (every occurrence), as written in a contact field."""
    found: set[str] = set()

    def add_contact(kind: str, value: str) -> None:
        found.add(value)
        if kind == "phone" and value.startswith("+31"):
            found.add("0" + value[3:])
        if kind == "handle":
            name = value.partition(":")[2]
            if len(name) >= 6:
                found.add(name)

    for line in corpus.read_bytes().splitlines():
        try:
            obj = orjson.loads(line)
            ad = normalise(AdRecord.from_json(obj))
        except (orjson.JSONDecodeError, ValueError, KeyError, TypeError):
            raw = line.decode("utf-8", "replace")
            for contact in contacts_in_text(raw, "raw"):
                add_contact(contact.kind.value, contact.value)
                assert contact.span is not None
                found.add(raw[contact.span[0] : contact.span[1]])
            continue
        for contact in ad.contacts:
            add_contact(contact.kind.value, contact.value)
        for field in ("title", "text"):
            value = getattr(ad.record, field)
            for contact in contacts_in_text(value, field):
                assert contact.span is not None
                found.add(value[contact.span[0] : contact.span[1]])
                add_contact(contact.kind.value, contact.value)
        found.update(v for v in (*ad.record.phones, *ad.record.emails, *ad.record.handles))
        for free in (ad.record.name, ad.record.site, ad.record.city):
            for contact in contacts_in_text(free or "", "field"):
                assert contact.span is not None
                found.add((free or "")[contact.span[0] : contact.span[1]])
                add_contact(contact.kind.value, contact.value)
    return {needle for needle in found if len(needle) >= 6}


def _leaks(needles: set[str], where: str, content: str) -> list[str]:
    views = [content]
    if "<" in content:
        views.append(html.unescape(re.sub(r"<[^>]*>", "", content)))
    return [f"{where}: {needle!r}" for needle in sorted(needles) if any(needle in v for v in views)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("contact-corpus")
    result = runner.invoke(cli, ["synth", "--ads", "1500", "--seed", "11", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    ads = folder / "ads.jsonl"
    extra = b"".join(orjson.dumps(r) + b"\n" for r in _hostile_records())
    ads.write_bytes(ads.read_bytes() + extra + b"\n".join(QUARANTINED_LINES) + b"\n")
    return ads


@pytest.fixture
def cli_store(web_settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """``signaal`` on the command line pointed at the web app's store and keys."""
    monkeypatch.setenv("SIGNAAL_DATABASE_URL", web_settings.database_url)
    monkeypatch.setenv("SIGNAAL_ENV", "development")
    monkeypatch.setenv("SIGNAAL_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
    monkeypatch.setenv("SIGNAAL_CONTACT_KEY", TEST_CONTACT_KEY)
    monkeypatch.setenv("SIGNAAL_DATA_KEY", TEST_DATA_KEY)
    get_settings.cache_clear()
    yield web_settings.database_url
    get_settings.cache_clear()


def _analyse(corpus: Path, out: Path, *extra: str) -> str:
    result = runner.invoke(
        cli, ["analyse", str(corpus), "--out", str(out), "--quiet", "--no-photos", *extra]
    )
    assert result.exit_code == 3, result.output  # the two bad lines are quarantined
    return result.output


def _store_texts(url: str) -> list[tuple[str, str]]:
    """Every text value of every table of the store, as (table.column, value)."""
    engine = make_engine(url)
    out: list[tuple[str, str]] = []
    try:
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                if table == "alembic_version":
                    continue
                for row in connection.execute(text(f'SELECT * FROM "{table}"')).mappings():
                    for column, value in row.items():
                        if isinstance(value, str):
                            out.append((f"{table}.{column}", value))
    finally:
        engine.dispose()
    return out


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_no_contact_point_in_any_output_file_table_page_or_api_answer(
    corpus, cli_store, tmp_path, client, state, accounts_by_role, sign_in
):
    out = tmp_path / "out"
    output = _analyse(corpus, out, "--store", "--organisation", "Test GGD")
    run_id = int(re.search(r"analysis (\d+) of Test GGD", output).group(1))  # type: ignore[union-attr]
    needles = _needles(corpus)
    # The hostile ads hold what the test is about; make sure the needles know them.
    for expected in ("+31694320989", "06-94320989", "O6.94.32.O9.88", "sweet.anna.test@example.nl"):
        assert expected in needles
    assert "nul zes negen vier drie twee nul negen acht zes" in needles
    assert "carla_test99" in needles
    assert {"0694320977", "0694320976", "+31694320978"} <= needles
    assert "femke-test-escort.nl" in needles

    leaks: list[str] = []
    assert "0694329999" not in output
    assert "06-94329998" not in output
    for path in sorted(out.iterdir()):
        leaks += _leaks(needles, path.name, path.read_text("utf-8"))
    for where, value in _store_texts(cli_store):
        leaks += _leaks(needles, where, value)
    assert not leaks, "contact points in the clear:\n" + "\n".join(leaks[:50])

    # The evidence the pipeline found is there, masked: nothing was lost by dropping it.
    personas = (out / "personas.csv").read_text("utf-8")
    assert re.search(r"A09 [^;]*\[06-•••••\d\d\]", personas)
    report = (out / "report.html").read_text("utf-8")
    assert "•••••" in report
    assert "--reveal-contacts" not in report
    quarantine = (out / "quarantine.jsonl").read_text("utf-8")
    assert "q:1" in quarantine
    assert "[06-•••••99]" in quarantine
    assert "[06-•••••98]" in quarantine
    assert "[06-•••••97]" in quarantine

    # The stored texts carry pseudonyms, every occurrence.
    twice = pseudonym("phone", "+31694320989", TEST_PSEUDONYM_KEY)
    with state.sessions() as session:
        texts = {
            ad.ad_id: ad.text
            for ad in session.scalars(select(AnalysisAd).where(AnalysisAd.run_id == run_id))
        }
        sealed = session.scalars(
            select(AnalysisContactPoint).where(AnalysisContactPoint.run_id == run_id)
        ).all()
    assert texts["h:twice"].count(f"[{twice}]") == 3
    assert {row.pseudonym for row in sealed} >= {twice}

    # Pages and API answers, for every role.
    with state.sessions() as session:
        run = session.get(AnalysisRun, run_id)
        assert run is not None
    ads_csv = (out / "ads.csv").read_text("utf-8").splitlines()
    hostile_personas = sorted({row.split(",")[1] for row in ads_csv if row.startswith("h:")})
    networks_with_masks = [
        line.split(",")[0]
        for line in (out / "networks.csv").read_text("utf-8").splitlines()[1:]
        if "•" in line
    ][:5]
    hostile_networks = sorted({row.split(",")[2] for row in ads_csv if row.startswith("h:")})
    reveal_form = f"/analyse/runs/{run.id}/contactpunten/"
    for role in accounts_by_role:
        if role == "other_org_admin":
            continue
        sign_in(accounts_by_role[role])
        answers = [client.get("/analyse"), client.get("/api/v1/analysis/networks?limit=500")]
        for network in [*hostile_networks, *networks_with_masks]:
            answers.append(client.get(f"/analyse/netwerken/{network}/personas"))
        for persona in hostile_personas:
            answers.append(client.get(f"/analyse/personas/{persona}?doel=assess_signal"))
        for answer in answers:
            leaks += _leaks(needles, f"{role} {answer.request.url.path}", answer.text)
        if role in ("analyst", "outreach_worker"):
            page = client.get(f"/analyse/personas/{hostile_personas[0]}?doel=assess_signal")
            assert page.status_code == 200
            assert reveal_form in page.text  # may reveal: the form is offered
            # A number given only in a contact field is offered too (through the network).
            field_only = pseudonym("phone", "+31694330000", TEST_PSEUDONYM_KEY)
            assert any(field_only in answer.text for answer in answers)
        if role in ("viewer", "care_coordinator", "administrator", "platform_administrator"):
            # (The watch button of a contact point, /volglijst/contactpunten/, reveals nothing:
            # only the reveal form is looked for.)
            assert all(reveal_form not in answer.text for answer in answers)
    assert not leaks, "contact points in the clear on a page:\n" + "\n".join(leaks[:50])


def test_reveal_on_screen_with_a_purpose_audited_and_only_for_own_runs(
    corpus, cli_store, tmp_path, client, state, accounts_by_role, sign_in, csrf_of
):
    output = _analyse(corpus, tmp_path / "out", "--store", "--organisation", "Test GGD")
    run_id = int(re.search(r"analysis (\d+) of Test GGD", output).group(1))  # type: ignore[union-attr]
    name = pseudonym("phone", "+31694320989", TEST_PSEUDONYM_KEY)
    path = f"/analyse/runs/{run_id}/contactpunten/{name}"

    def reveal(role: str, purpose: str | None) -> tuple[int, str]:
        token = sign_in(accounts_by_role[role])
        csrf = state.signer.csrf_token(token, kind="session")
        form = {"csrf_token": csrf, **({"doel": purpose} if purpose is not None else {})}
        answer = client.post(path, data=form, headers={"HX-Request": "true"})
        return answer.status_code, answer.text

    def reveal_events() -> list[AuditEvent]:
        with state.sessions() as session:
            return list(
                session.scalars(
                    select(AuditEvent).where(AuditEvent.action == "contact_point.revealed")
                )
            )

    # No purpose, or one that is not on the list: asked again, nothing shown, nothing audited.
    for purpose in (None, "", "curiosity"):
        status, body = reveal("outreach_worker", purpose)
        assert status == 422
        assert "+31694320989" not in body
        assert 'name="doel"' in body
    assert reveal_events() == []

    status, body = reveal("outreach_worker", "call_back")
    assert status == 200
    assert "+31694320989" in body
    assert "<html" not in body  # an htmx fragment
    events = reveal_events()
    assert len(events) == 1
    assert events[0].purpose == "call_back"
    assert events[0].record_id == name
    assert events[0].actor_email == accounts_by_role["outreach_worker"].email
    assert "+31694320989" not in events[0].details  # the log holds the pseudonym only
    assert reveal("analyst", "check_reading")[0] == 200

    # Roles without the action, and a role with it from another organisation (the police
    # officer is at the police, the run belongs to the GGD), are refused and nothing is shown.
    for role in ("viewer", "care_coordinator", "administrator", "platform_administrator"):
        status, body = reveal(role, "call_back")
        assert status == 403, role
        assert "+31694320989" not in body
    status, body = reveal("police_officer", "protection")
    assert status == 403
    assert "+31694320989" not in body
    assert len(reveal_events()) == 2

    # Unknown pseudonyms of the own run and hostile path values are a plain 404; a run that is
    # not the own organisation's, whether it exists elsewhere or nowhere, is refused alike (403),
    # so the answer does not tell whether another organisation has such a run.
    sign_in(accounts_by_role["outreach_worker"])
    csrf = state.signer.csrf_token(sign_in(accounts_by_role["outreach_worker"]), kind="session")
    for bad, expected in (
        (f"/analyse/runs/{run_id}/contactpunten/phone:ffffffffffffffff", 404),
        (f"/analyse/runs/{run_id}/contactpunten/phone:%00abc", 404),
        (f"/analyse/runs/99999999999/contactpunten/{name}", 403),
        (f"/analyse/runs/abc/contactpunten/{name}", 403),
    ):
        answer = client.post(bad, data={"csrf_token": csrf, "doel": "call_back"})
        assert answer.status_code == expected, bad
        assert "+31694320989" not in answer.text

    # The API never reveals: its network answer holds no clear value, only pseudonyms (none).
    assert "+31694320989" not in client.get("/api/v1/analysis/networks?limit=500").text


def test_a_sealed_value_moved_to_another_row_does_not_open(
    corpus, cli_store, tmp_path, client, state, accounts_by_role, sign_in
):
    """Someone with write access to the database copies the sealed value of one number under the
    pseudonym of another: the app refuses to open it rather than show the wrong number."""
    output = _analyse(corpus, tmp_path / "out", "--store", "--organisation", "Test GGD")
    run_id = int(re.search(r"analysis (\d+) of Test GGD", output).group(1))  # type: ignore[union-attr]
    victim = pseudonym("phone", "+31694320989", TEST_PSEUDONYM_KEY)
    other = pseudonym("phone", "+31694320988", TEST_PSEUDONYM_KEY)
    with state.sessions() as session:
        rows = {
            row.pseudonym: row
            for row in session.scalars(
                select(AnalysisContactPoint).where(AnalysisContactPoint.run_id == run_id)
            )
        }
        rows[other].sealed = rows[victim].sealed
        session.commit()
    token = sign_in(accounts_by_role["outreach_worker"])
    csrf = state.signer.csrf_token(token, kind="session")
    answer = client.post(
        f"/analyse/runs/{run_id}/contactpunten/{other}",
        data={"csrf_token": csrf, "doel": "call_back"},
    )
    assert answer.status_code == 500
    assert "+31694320989" not in answer.text
    assert "+31694320988" not in answer.text


def test_report_is_masked_by_default_and_reveal_contacts_says_so(corpus, cli_store, tmp_path):
    masked = tmp_path / "masked"
    _analyse(corpus, masked)
    revealed = tmp_path / "revealed"
    _analyse(corpus, revealed, "--reveal-contacts")
    masked_html = (masked / "report.html").read_text("utf-8")
    revealed_html = (revealed / "report.html").read_text("utf-8")
    assert "contactpunten leesbaar" not in masked_html
    assert "contactpunten leesbaar" in revealed_html
    assert "--reveal-contacts" in revealed_html
    assert revealed_html.index("contactpunten leesbaar") < revealed_html.index("<main>") + 400
    needles = _needles(corpus)
    assert not _leaks(needles, "report.html", masked_html)
    assert _leaks(needles, "report.html", revealed_html)  # the clear values are in it
    # Only the report: every other file is the same as without the option.
    for name in ("ads.csv", "personas.csv", "networks.csv", "links.csv", "quarantine.jsonl"):
        assert (masked / name).read_bytes() == (revealed / name).read_bytes(), name
