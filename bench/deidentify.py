"""De-identification of free text: warm-up with and without the lookup cache, ms per text, and
what is found and missed on synthetic Dutch signal texts (each with its planted identifiers).

    .venv/bin/python bench/deidentify.py            # uses data/deduce when current
    .venv/bin/python bench/deidentify.py --rebuild  # also times a build without cache (1-2 min)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from signaal.privacy import deidentifier
from signaal.privacy.deidentify import find_identifiers

# Synthetic texts and the values a reader would want replaced (all invented).
TEXTS: list[tuple[str, set[str]]] = [
    (
        "Sanne de Vries (geb. 01-02-2009) slaapt in het pand, bel nul zes een twee drie vier "
        "vijf zes zeven acht.",
        {"Sanne de Vries", "01-02-2009", "nul zes een twee drie vier vijf zes zeven acht"},
    ),
    (
        "Jan van der Berg haalt haar op aan de Kerkstraat 12, mail jvdb [at] voorbeeld [punt] nl.",
        {"Jan van der Berg", "Kerkstraat 12", "jvdb [at] voorbeeld [punt] nl"},
    ),
    ("BSN 111222333 stond op de envelop, geboren op 3 maart 2008.", {"111222333", "3 maart 2008"}),
    (
        "Ze noemde zich Lola, telegram: lola_synth, en wordt door Mo gebracht.",
        {"Lola", "lola_synth", "Mo"},
    ),
    (
        "Fatima el Amrani woont bij een man op Dorpsweg 4a in Nijkerk.",
        {"Fatima el Amrani", "Dorpsweg 4a"},
    ),
    ("Meisje van ongeveer 16 gezien bij station Zwolle rond 23:00.", set()),
    (
        "Haar vriend Kevin belt steeds met O6-l2345678 en zegt dat ze moet werken.",
        {"Kevin", "O6-l2345678"},
    ),
    ("Klantenkaart nummer 4821 7736 en Instagram @synth.meisje.", {"@synth.meisje"}),
    ("ze heet lisa en haar pooier heet dennis, ze is van 2008.", {"lisa", "dennis"}),
    (
        "Adres: Laan van Meerdervoort 200, 2517 BJ; geboortedatum 2008-07-15.",
        {"Laan van Meerdervoort 200", "2517 BJ", "2008-07-15"},
    ),
    (
        "Whatsapp nul-zes/acht.zeven.zes.vijf.vier.drie.twee.een, vraag naar Priscilla.",
        {"nul-zes/acht.zeven.zes.vijf.vier.drie.twee.een", "Priscilla"},
    ),
]


def _timed_load(data_dir: Path) -> tuple[float, deidentifier.DeduceAnnotator]:
    started = time.perf_counter()
    annotator = deidentifier.load_annotator(data_dir)
    assert annotator is not None
    return time.perf_counter() - started, annotator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--rebuild", action="store_true", help="also time a build without cache")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    if args.rebuild:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            deidentifier.build_cache(Path(folder))
            print(f"warm-up without cache (build): {time.perf_counter() - started:.1f} s")
    if not deidentifier.cache_is_current(args.data):
        deidentifier.build_cache(args.data)
    seconds, annotator = _timed_load(args.data)
    print(f"warm-up with cache (load): {seconds:.1f} s")
    find_identifiers(TEXTS[0][0], annotator)
    started = time.perf_counter()
    for _ in range(args.repeat):
        for text, _expected in TEXTS:
            find_identifiers(text, annotator)
    per_text = (time.perf_counter() - started) / (args.repeat * len(TEXTS)) * 1000
    started = time.perf_counter()
    for _ in range(args.repeat):
        for text, _expected in TEXTS:
            find_identifiers(text, None)
    own = (time.perf_counter() - started) / (args.repeat * len(TEXTS)) * 1000
    print(f"per text after warm-up: {per_text:.2f} ms (own finders only: {own:.3f} ms)")
    planted = found = extra = 0
    for text, expected in TEXTS:
        values = {i.value for i in find_identifiers(text, annotator)}
        hit = {e for e in expected if any(e in v for v in values)}
        planted += len(expected)
        found += len(hit)
        extra += len([v for v in values if not any(e in v for e in expected)])
        for missed in sorted(expected - hit):
            print(f"  missed: {missed!r} in {text!r}")
        for value in sorted(v for v in values if not any(e in v for e in expected)):
            print(f"  also found: {value!r}")
    print(f"planted identifiers found: {found}/{planted}; other spans found: {extra}")


if __name__ == "__main__":
    main()
