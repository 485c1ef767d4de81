"""Fixtures of the ads tests: hand-made records with unallocated phone numbers (+31 6 9xxxxxxx)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from signaal.ads.records import AdRecord

from .adfactories import record_json

RecordFactory = Callable[..., AdRecord]


@pytest.fixture
def make_record() -> RecordFactory:
    def make(**overrides: Any) -> AdRecord:
        return AdRecord.from_json(record_json(**overrides))

    return make
