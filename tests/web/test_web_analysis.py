"""The analysis pages: ranked networks with reasons, personas via htmx, persona detail with a
purpose and an audit event, and a clear empty state."""

from __future__ import annotations

from sqlalchemy import select

from signaal.store.models import AuditEvent


def _last_event(state) -> AuditEvent:  # type: ignore[no-untyped-def]
    with state.sessions() as session:
        event = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event is not None
    return event


def test_empty_state_tells_how_to_run_an_analysis(client, accounts_by_role, sign_in):
    sign_in(accounts_by_role["analyst"])
    page = client.get("/analyse")
    assert page.status_code == 200
    assert "Nog geen analyse opgeslagen" in page.text
    assert "--store --organisation" in page.text
    assert client.get("/api/v1/analysis/networks").json() == {"run": None, "networks": []}


def test_networks_are_listed_with_their_reasons(
    client, state, accounts_by_role, sign_in, seeded_analysis
):
    sign_in(accounts_by_role["viewer"])
    page = client.get("/analyse")
    assert page.status_code == 200
    assert "N-1" in page.text
    assert "one phone number in ads of 3 personas" in page.text
    assert "Amersfoort, Utrecht" in page.text
    assert _last_event(state).action == "analysis.viewed"
    filtered = client.get("/analyse?zoek=utrecht", headers={"HX-Request": "true"})
    assert "N-1" in filtered.text
    assert "<html" not in filtered.text  # htmx gets only the table
    assert "N-1" not in client.get("/analyse?zoek=groningen").text.split("<main")[1]
    api = client.get("/api/v1/analysis/networks").json()
    assert api["run"]["id"] == seeded_analysis
    assert api["run"]["organisation_id"] == accounts_by_role["viewer"].organisation_id
    assert api["networks"][0]["network_id"] == "N-1"
    assert api["networks"][0]["municipalities"] == ["Amersfoort", "Utrecht"]


def test_personas_of_a_network_expand_with_htmx(
    client, state, accounts_by_role, sign_in, seeded_analysis
):
    sign_in(accounts_by_role["viewer"])
    fragment = client.get("/analyse/netwerken/N-1/personas", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "P-1" in fragment.text
    # A viewer may not open persona details, so no link is offered.
    assert 'href="/analyse/personas/P-1"' not in fragment.text
    assert _last_event(state).action == "analysis.network_viewed"
    # An id no run of the own organisation holds is refused like one of another organisation.
    assert client.get("/analyse/netwerken/N-404/personas").status_code == 403


def test_persona_needs_a_purpose_and_is_audited_with_it(
    client, state, accounts_by_role, sign_in, seeded_analysis
):
    sign_in(accounts_by_role["outreach_worker"])
    ask = client.get("/analyse/personas/P-1")
    assert ask.status_code == 200
    assert "Waarom open je deze persona?" in ask.text
    assert "Synthetische testadvertentie" not in ask.text
    absurd = client.get("/analyse/personas/P-1?doel=nieuwsgierig")
    assert absurd.status_code == 422
    assert "Kies waarom je deze persona opent." in absurd.text
    page = client.get("/analyse/personas/P-1?doel=prepare_outreach")
    assert page.status_code == 200
    assert "Synthetische testadvertentie" in page.text
    assert "van Amersfoort naar Utrecht" in page.text
    assert "new_in_town" in page.text
    event = _last_event(state)
    assert event.action == "analysis.persona_viewed"
    assert event.record_id == "P-1"
    assert event.purpose == "prepare_outreach"
    assert event.actor_email == accounts_by_role["outreach_worker"].email
    assert client.get("/analyse/personas/P-404?doel=prepare_outreach").status_code == 403


def test_viewer_may_not_open_a_persona(client, state, accounts_by_role, sign_in, seeded_analysis):
    sign_in(accounts_by_role["viewer"])
    response = client.get("/analyse/personas/P-1?doel=assess_signal")
    assert response.status_code == 403
    event = _last_event(state)
    assert event.action == "access.denied"
    assert event.record_id == "P-1"
