"""Write docs/indicators.md from src/signaal/ads/indicators.json.

.venv/bin/python scripts/indicators_doc.py
"""

from pathlib import Path

from signaal.ads.indicators import indicators_markdown

if __name__ == "__main__":
    target = Path(__file__).resolve().parent.parent / "docs" / "indicators.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(indicators_markdown(), "utf-8")
    print(f"wrote {target}")
