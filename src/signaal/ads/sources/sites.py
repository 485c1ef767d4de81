"""Site adapters: an ad page's HTML -> an ad record, driven by selectors kept as data.

``sites.json`` holds one entry per site: how to recognise its ad pages and, per ad-record field,
a CSS selector and how to read it. Adding a site is adding an entry (docs/site-adapters.md).

Field rules (keys of a field's entry):

- ``selector``: CSS selector (selectolax); ``attribute``: read this attribute instead of the text;
- ``many``: a list of every match (else the first match); ``optional``: null when nothing matches;
- ``constant``: the site never shows the field; use this value;
- ``regex``: keep the first group of this pattern; ``prefix``: put this before the value;
- ``parse``: ``text`` (default; stripped), ``raw_text`` (unstripped), ``int`` (first number),
  ``price`` (euro amount or null), ``iso_datetime``, ``datetime`` (with ``format``, in the site's
  ``timezone``), ``map`` (through ``map``);
- prices: ``selector`` per price row, the key from ``key_attribute`` or ``key_selector``, the
  amount from ``value_selector``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import fastjsonschema
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from signaal.ads.files import FileRefused, read_contained
from signaal.ads.read import posted_at_problem
from signaal.ads.records import AD_RECORD_FIELDS, AdRecord, ad_record_schema
from signaal.ads.types import Quarantined
from signaal.errors import RecordError

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@cache
def site_specs() -> tuple[dict[str, Any], ...]:
    """The site entries of ``sites.json``."""
    text = resources.files("signaal.ads.sources").joinpath("sites.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    sites: list[dict[str, Any]] = data["sites"]
    for spec in sites:
        missing = set(AD_RECORD_FIELDS) - set(spec["fields"]) - {"site"}
        if missing:
            raise ValueError(f"sites.json: site {spec['name']} lacks {sorted(missing)}")
    return tuple(sites)


@cache
def _validator() -> Any:
    return fastjsonschema.compile(ad_record_schema())


def _recognised(tree: HTMLParser, rule: dict[str, Any]) -> bool:
    node = tree.css_first(rule["selector"])
    if node is None:
        return False
    if "attribute" not in rule:
        return True
    value = node.attributes.get(rule["attribute"]) or ""
    if "equals" in rule:
        return bool(value == rule["equals"])
    if "startswith" in rule:
        return value.startswith(rule["startswith"])
    return True


def detect_site(tree: HTMLParser) -> dict[str, Any] | None:
    for spec in site_specs():
        if _recognised(tree, spec["recognise"]):
            return spec
    return None


def _raw(node: Node, rule: dict[str, Any]) -> str | None:
    if "attribute" in rule:
        value: str | None = node.attributes.get(rule["attribute"])
        return value
    text: str = node.text(deep=True, separator="", strip=False)
    return text


def _parse(value: str, rule: dict[str, Any], spec: dict[str, Any]) -> Any:
    if "regex" in rule:
        m = re.search(rule["regex"], value)
        if m is None:
            raise ValueError(f"{value!r} does not match {rule['regex']!r}")
        value = m.group(1)
    kind = rule.get("parse", "text")
    if kind != "raw_text":
        value = value.strip()
    if "prefix" in rule:
        value = rule["prefix"] + value
    if kind in ("text", "raw_text"):
        return value
    if kind == "int":
        m = _NUMBER.search(value)
        if m is None:
            raise ValueError(f"no number in {value!r}")
        return int(m.group(0).split(",")[0].split(".")[0])
    if kind == "price":
        m = _NUMBER.search(value)
        if m is None:
            return None
        amount = float(m.group(0).replace(",", "."))
        if not math.isfinite(amount):
            raise ValueError(f"price {m.group(0)[:40]!r}… is too large")
        return amount
    if kind == "iso_datetime":
        return datetime.fromisoformat(value).isoformat(timespec="seconds")
    if kind == "datetime":
        local = datetime.strptime(value, rule["format"]).replace(tzinfo=ZoneInfo(spec["timezone"]))
        return local.isoformat(timespec="seconds")
    if kind == "map":
        if value not in rule["map"]:
            raise ValueError(f"{value!r} is not one of {sorted(rule['map'])}")
        return rule["map"][value]
    raise ValueError(f"unknown parse rule {kind!r}")


def _field(
    tree: HTMLParser, name: str, rule: dict[str, Any], spec: dict[str, Any], source: str
) -> Any:
    if "constant" in rule:
        return rule["constant"]
    try:
        if name == "prices":
            prices: dict[str, float | None] = {}
            for row in tree.css(rule["selector"]):
                if "key_attribute" in rule:
                    key = row.attributes.get(rule["key_attribute"]) or ""
                else:
                    key_node = row.css_first(rule["key_selector"])
                    key = key_node.text(strip=True) if key_node is not None else ""
                value_node = row.css_first(rule["value_selector"])
                if not key or value_node is None:
                    raise ValueError("price row without duration or amount")
                prices[key] = _parse(value_node.text(deep=True), rule, spec)
            return prices
        nodes = tree.css(rule["selector"])
        if rule.get("many"):
            values = [_raw(n, rule) for n in nodes]
            return [_parse(v, rule, spec) for v in values if v is not None]
        if not nodes:
            if rule.get("optional"):
                return None
            raise ValueError(f"no element matches {rule['selector']!r}")
        raw = _raw(nodes[0], rule)
        if raw is None:
            if rule.get("optional"):
                return None
            raise ValueError(f"{rule['selector']!r} has no attribute {rule.get('attribute')!r}")
        return _parse(raw, rule, spec)
    except (ValueError, KeyError) as exc:
        raise RecordError(source, name, f"{spec['name']}: {exc}") from exc


def parse_page(html: str, *, source: str) -> AdRecord:
    """Read one ad page. ``source`` names it in errors (e.g. the file name).

    Raises ``RecordError`` (with the source and the field) when the page is not from a known
    site, a required field is missing or a value cannot be read.
    """
    tree = HTMLParser(html)
    spec = detect_site(tree)
    if spec is None:
        names = ", ".join(s["name"] for s in site_specs())
        raise RecordError(source, None, f"page is not an ad page of a known site ({names})")
    obj: dict[str, Any] = {"id": None, "site": spec["site"]}
    for name in AD_RECORD_FIELDS:
        if name == "site":
            continue
        obj[name] = _field(tree, name, spec["fields"][name], spec, source)
    try:
        _validator()(obj)
    except fastjsonschema.JsonSchemaValueException as exc:
        field = exc.path[1] if len(exc.path) > 1 else None
        raise RecordError(source, field, f"{spec['name']}: {exc.message}") from exc
    date_problem = posted_at_problem(obj["posted_at"])
    if date_problem is not None:
        raise RecordError(source, "posted_at", f"{spec['name']}: {date_problem}")
    return AdRecord.from_json(obj)


def parse_pages(
    paths: Iterable[Path], *, root: Path | None = None, max_bytes: int = 5_000_000
) -> Iterator[AdRecord | Quarantined]:
    """Read ad pages; a page that cannot be read is yielded as ``Quarantined`` with the reason.

    Only regular files are read (inside ``root`` when given: no symbolic links out of it, no
    FIFOs), of at most ``max_bytes``.
    """
    for path in paths:
        try:
            raw = (
                read_contained(root, path, max_bytes)
                if root is not None
                else read_contained(path.parent, path, max_bytes)
            )
        except FileRefused as exc:
            yield Quarantined(
                source=str(path), line=1, field=None, reason=f"page refused: {exc.reason}", raw=""
            )
            continue
        html = raw.decode("utf-8", errors="replace")
        try:
            yield parse_page(html, source=str(path))
        except RecordError as exc:
            yield Quarantined(
                source=str(path), line=1, field=exc.field, reason=exc.reason, raw=html
            )
