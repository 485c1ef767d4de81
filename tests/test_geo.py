import pytest

from signaal.geo import municipalities, municipality, places, resolve_place


def test_tables_load_with_sane_values() -> None:
    ms = municipalities()
    assert len(ms) > 280
    assert [m.name for m in ms] == sorted(m.name for m in ms)
    for m in ms:
        assert 50.7 < m.lat < 53.6
        assert 3.3 < m.lon < 7.3
        assert m.population > 0
    names = {m.name for m in ms}
    assert all(p.municipality in names for p in places())


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Amsterdam", "Amsterdam"),
        ("AMSTERDAM", "Amsterdam"),
        ("Den Haag", "'s-Gravenhage"),
        ("'s-Gravenhage", "'s-Gravenhage"),
        ("The Hague", "'s-Gravenhage"),
        ("den bosch", "'s-Hertogenbosch"),
        ("Scheveningen", "'s-Gravenhage"),
        ("Weesp", "Amsterdam"),  # merged in 2022
        ("Veghel", "Meierijstad"),  # merged in 2017
        ("Heerhugowaard", "Dijk en Waard"),  # merged in 2022
        ("Hellevoetsluis", "Voorne aan Zee"),  # merged in 2023
        ("Zwartebroek", "Barneveld"),  # a village
        ("regio Utrecht", "Utrecht"),
        ("Zwolle (centrum)", "Zwolle"),
        ("Súdwest-Fryslân", "Súdwest-Fryslân"),
        ("Sudwest Fryslan", "Súdwest-Fryslân"),
    ],
)
def test_resolve_place(written: str, expected: str) -> None:
    found = resolve_place(written)
    assert found is not None
    assert found.name == expected


@pytest.mark.parametrize("written", [None, "", "Atlantis", "Berlin", "12345"])
def test_unknown_places_resolve_to_none(written: str | None) -> None:
    assert resolve_place(written) is None


def test_municipality_by_name() -> None:
    assert municipality("Rotterdam").province == "Zuid-Holland"
    with pytest.raises(KeyError):
        municipality("Atlantis")
