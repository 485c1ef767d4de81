"""Parameters of the link and movement stages for one run, from a JSON file.

``signaal analyse --config FILE`` (or the setting ``SIGNAAL_ANALYSIS_CONFIG``) names a file like::

    {"link": {"max_personas_per_contact": 40, "text": {"threshold": 0.6}},
     "movement": {"rotation_days": 21}}

Each section holds fields of :class:`signaal.ads.link.LinkConfig` (with ``text`` for
:class:`signaal.ads.textsim.TextSimConfig`) or :class:`signaal.ads.movement.MovementConfig`;
fields left out keep their defaults. The file is checked in full before a run starts: an unknown
section or field, a value of the wrong type, or a combination a stage refuses is an
:class:`~signaal.errors.InputError` that names the file, the field and why. The fields are read
from the dataclasses themselves, so a parameter added to a stage can be set here at once.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from signaal.ads.link import LinkConfig
from signaal.ads.movement import MovementConfig
from signaal.errors import InputError

C = TypeVar("C")

MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class StageConfig:
    """The link and movement parameters of a run."""

    link: LinkConfig = field(default_factory=LinkConfig)
    movement: MovementConfig = field(default_factory=MovementConfig)


SECTIONS: dict[str, type] = {"link": LinkConfig, "movement": MovementConfig}


def load_stage_config(path: Path) -> StageConfig:
    """The stage parameters in the JSON file at ``path`` (InputError naming field and reason)."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(f"{path}: larger than {MAX_CONFIG_BYTES} bytes; not a stage config")
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc
    return parse_stage_config(raw, where=str(path))


def parse_stage_config(raw: object, *, where: str = "config") -> StageConfig:
    """The stage parameters of a decoded JSON document."""
    if not isinstance(raw, dict):
        raise InputError(f"{where}: must hold a JSON object with 'link' and/or 'movement'")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise InputError(
            f"{where}: unknown section {unknown[0]!r} (expected one of {', '.join(SECTIONS)})"
        )
    link = _build(LinkConfig, raw.get("link", {}), f"{where}: link")
    movement = _build(MovementConfig, raw.get("movement", {}), f"{where}: movement")
    return StageConfig(link=link, movement=movement)


def _build(cls: type[C], raw: object, where: str) -> C:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: must be a JSON object of parameters")
    assert dataclasses.is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    values: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in known:
            raise InputError(
                f"{where}.{name}: unknown parameter (known: {', '.join(sorted(known))})"
            )
        values[name] = _convert(hints[name], value, f"{where}.{name}")
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{where}: {exc}") from exc


def _convert(hint: Any, value: object, where: str) -> object:
    """``value`` as the field type ``hint`` wants, or InputError."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _build(hint, value, where)
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if value is None and len(options) < len(typing.get_args(hint)):
            return None
        if len(options) == 1:
            return _convert(options[0], value, where)
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            raise InputError(f"{where}: expected a list, got {_describe(value)}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], item, f"{where}[{i}]") for i, item in enumerate(value))
        if len(value) != len(args):
            raise InputError(f"{where}: expected a list of {len(args)} values, got {len(value)}")
        return tuple(
            _convert(arg, item, f"{where}[{i}]")
            for i, (arg, item) in enumerate(zip(args, value, strict=True))
        )
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"{where}: expected true or false, got {_describe(value)}")
        return value
    # Every numeric parameter of the stages is a count, a distance, a number of days or a share:
    # never negative.
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InputError(f"{where}: expected a whole number, got {_describe(value)}")
        if value < 0:
            raise InputError(f"{where}: must not be negative, got {value}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{where}: expected a number, got {_describe(value)}")
        if not math.isfinite(value) or value < 0:
            raise InputError(f"{where}: expected a finite number >= 0, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise InputError(f"{where}: expected text, got {_describe(value)}")
        return value
    raise InputError(f"{where}: cannot be set from a file")


def _describe(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."
