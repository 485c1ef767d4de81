"""The de-identification finder: deduce merged with the project's own finders (disguised phones,
e-mails, handles, BSN with the eleven-test, dates of birth), and consistent pseudonymisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaal.privacy import deidentifier
from signaal.privacy.deidentify import (
    Category,
    elfproef,
    find_identifiers,
    pseudonymise,
)


@pytest.fixture(scope="module")
def annotator(deidentify_data_dir: Path) -> deidentifier.DeduceAnnotator:
    loaded = deidentifier.load_annotator(deidentify_data_dir)
    assert loaded is not None
    return loaded


def _found(text: str, annotator: object | None) -> dict[str, Category]:
    return {i.value: i.category for i in find_identifiers(text, annotator)}  # type: ignore[arg-type]


def test_elfproef() -> None:
    assert elfproef("111222333")
    assert elfproef("123456782")
    assert not elfproef("123456789")
    assert not elfproef("12345678")
    assert not elfproef("000000000")
    assert not elfproef("１２３４５６７８２")  # full-width digits are no BSN


def test_a_valid_bsn_is_found_also_with_dots_and_an_invalid_one_is_no_bsn() -> None:
    found = _found("BSN 1234.56.782 en ook 123456789.", None)
    assert found == {"1234.56.782": Category.BSN}


def test_a_disguised_phone_an_obscured_email_and_a_handle_are_found_without_the_library() -> None:
    text = (
        "bel nul zes een twee drie vier vijf zes zeven acht of mail x [at] voorbeeld [punt] nl, "
        "snap: synth_a"
    )
    found = _found(text, None)
    assert found["nul zes een twee drie vier vijf zes zeven acht"] is Category.PHONE
    assert found["x [at] voorbeeld [punt] nl"] is Category.EMAIL
    assert Category.HANDLE in found.values()


def test_a_date_of_birth_is_told_from_another_date(annotator: deidentifier.DeduceAnnotator) -> None:
    found = find_identifiers("Gezien op 3 maart 2026, geboren 12-03-2004.", annotator)
    assert [(i.value, i.category) for i in found] == [("12-03-2004", Category.BIRTH_DATE)]


def test_dutch_names_with_tussenvoegsel(annotator: deidentifier.DeduceAnnotator) -> None:
    found = _found("Ze zei dat Jan van der Berg en Fatima el Amrani haar ophaalden.", annotator)
    assert found.get("Jan van der Berg") is Category.PERSON
    assert found.get("Fatima el Amrani") is Category.PERSON


def test_a_street_address_is_offered_and_a_municipality_is_not(
    annotator: deidentifier.DeduceAnnotator,
) -> None:
    found = _found("Ze woont op de Kerkstraat 12 in Utrecht.", annotator)
    assert found == {"Kerkstraat 12": Category.ADDRESS}


def test_pseudonymise_uses_one_tag_per_value(annotator: deidentifier.DeduceAnnotator) -> None:
    text = (
        "Sanne de Vries belt 06-12345678. Later belde Sanne de Vries weer met 06 1234 5678, "
        "geb. 01-02-2009."
    )
    found = find_identifiers(text, annotator)
    assert pseudonymise(text, found) == (
        "[PERSOON-1] belt [TELEFOON-1]. Later belde [PERSOON-1] weer met [TELEFOON-1], "
        "geb. [GEBOORTEDATUM-1]."
    )


def test_without_a_cache_there_is_no_annotator_and_no_build(tmp_path: Path) -> None:
    assert deidentifier.load_annotator(tmp_path) is None
    assert not (tmp_path / "deduce").exists()
