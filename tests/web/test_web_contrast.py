"""The colours of the stylesheet meet WCAG 2.1 AA contrast (4.5:1 for text, 3:1 for borders)."""

from __future__ import annotations

import re

import pytest

from signaal.web.rendering import STATIC_DIR

# (foreground variable, background variable or colour, minimum ratio)
PAIRS = [
    ("--text", "--background", 4.5),
    ("--text", "--surface", 4.5),
    ("--muted", "--background", 4.5),
    ("--muted", "--surface", 4.5),
    ("--primary", "--background", 4.5),
    ("--primary", "--surface", 4.5),
    ("--error", "--background", 4.5),
    ("--success", "--background", 4.5),
    ("--risk-high", "--background", 4.5),
    ("--risk-medium", "--background", 4.5),
    ("--risk-low", "--background", 4.5),
    ("#ffffff", "--primary", 4.5),  # button text
    ("#ffffff", "--primary-dark", 4.5),  # header text
    ("--text", "--focus", 4.5),  # skip link
    ("--border", "--background", 3.0),
]


def _variables() -> dict[str, str]:
    css = (STATIC_DIR / "css" / "app.css").read_text(encoding="utf-8")
    root = css[css.index(":root") : css.index("}", css.index(":root"))]
    return dict(re.findall(r"(--[a-z-]+):\s*(#[0-9a-fA-F]{6})", root))


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize(("foreground", "background", "minimum"), PAIRS)
def test_colour_pairs_meet_aa(foreground, background, minimum):
    variables = _variables()
    fg = variables.get(foreground, foreground)
    bg = variables.get(background, background)
    assert contrast(fg, bg) >= minimum, f"{foreground} on {background}: {contrast(fg, bg):.2f}"
