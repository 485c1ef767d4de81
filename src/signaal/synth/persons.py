"""Synthetic persons and noisy duplicate records, the labelled data of the matching benchmark.

Names are drawn Zipf-like (weight 1/rank) from lists of common Dutch first names and surnames, so
that common names collide as they do in real registers; a share of names comes from a synthetic
long tail (syllable combinations). All values are synthetic. Assumptions (not measured from a
source): the list shares, the error rates in :data:`NOISE`, birth dates uniform over 1950-2008.
Two distinct persons never share normalised first name and surname with birth dates one tolerated
step apart (a day/month swap or a year): such a pair cannot be told apart from one person whose
record has that error, by a tolerant matcher or by anyone, without a further field.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from signaal.privacy.matching import (
    Person,
    birth_date_variants,
    normalise_first_name,
    normalise_surname,
)

FIRST_NAMES = [
    "Maria",
    "Anna",
    "Johannes",
    "Jan",
    "Cornelis",
    "Hendrik",
    "Willem",
    "Petrus",
    "Johanna",
    "Elisabeth",
    "Sophie",
    "Emma",
    "Julia",
    "Daan",
    "Sem",
    "Lucas",
    "Noah",
    "Levi",
    "Finn",
    "Milan",
    "Luuk",
    "Bram",
    "Thijs",
    "Jesse",
    "Ruben",
    "Lars",
    "Tim",
    "Thomas",
    "Niels",
    "Kevin",
    "Mohamed",
    "Ahmed",
    "Yusuf",
    "Ibrahim",
    "Fatima",
    "Aisha",
    "Noor",
    "Sara",
    "Lotte",
    "Anouk",
    "Fleur",
    "Lisa",
    "Eva",
    "Sanne",
    "Femke",
    "Iris",
    "Lieke",
    "Esmée",
    "Zoë",
    "Chloë",
    "Noël",
    "René",
    "André",
    "Inès",
    "Daniëlle",
    "Ingrid",
    "Monique",
    "Sandra",
    "Linda",
    "Petra",
    "Marieke",
    "Annemarie",
    "Anne-Marie",
    "Jan-Willem",
    "Gerrit",
    "Dirk",
    "Klaas",
    "Pieter",
    "Kees",
    "Joost",
    "Martijn",
    "Bas",
    "Rik",
    "Stijn",
    "Jeroen",
    "Wouter",
    "Sven",
    "Mark",
    "Dennis",
    "Sander",
    "Jasper",
    "Roel",
    "Koen",
    "Maarten",
    "Tom",
    "Sarah",
    "Laura",
    "Kim",
    "Amber",
    "Jade",
    "Mila",
    "Tess",
    "Yara",
    "Nina",
    "Roos",
    "Elif",
    "Zeynep",
    "Emre",
    "Burak",
    "Priya",
    "Dewi",
    "Rachid",
    "Khadija",
]
SURNAMES = [
    "de Jong",
    "Jansen",
    "de Vries",
    "van den Berg",
    "van Dijk",
    "Bakker",
    "Janssen",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "van der Linden",
    "Kok",
    "Jacobs",
    "de Haan",
    "Vermeulen",
    "van den Heuvel",
    "van der Veen",
    "van den Broek",
    "de Bruijn",
    "de Bruin",
    "van der Heijden",
    "Schouten",
    "van Beek",
    "Willems",
    "van Vliet",
    "van de Ven",
    "Hoekstra",
    "Maas",
    "Verhoeven",
    "Koster",
    "van Dam",
    "van der Wal",
    "Prins",
    "Blom",
    "Huisman",
    "Peeters",
    "de Jonge",
    "Kuipers",
    "van Veen",
    "Post",
    "Kuiper",
    "Veenstra",
    "Kramer",
    "van den Brink",
    "Scholten",
    "van Wijk",
    "Postma",
    "Martens",
    "Vink",
    "de Ruiter",
    "Timmermans",
    "Groen",
    "Gerritsen",
    "Jonker",
    "van Loon",
    "Boer",
    "van der Velde",
    "Willemsen",
    "Smeets",
    "de Lange",
    "de Vos",
    "Bosch",
    "van Dongen",
    "Schipper",
    "de Koning",
    "van der Laan",
    "Koning",
    "van der Velden",
    "Driessen",
    "van Doorn",
    "Hermans",
    "Evers",
    "van den Bosch",
    "van der Meulen",
    "Hofman",
    "Bosman",
    "Wolters",
    "Sanders",
    "van der Horst",
    "Mol",
    "Kuijpers",
    "Molenaar",
    "van de Pol",
    "de Leeuw",
    "Verbeek",
    "ter Horst",
    "Yılmaz",
    "El Amrani",
    "Öztürk",
    "Bouzid",
    "Nguyen",
    "Şahin",
]
_SYLLABLES = [
    "ber",
    "bro",
    "dam",
    "dek",
    "eek",
    "gel",
    "hof",
    "hui",
    "jon",
    "kam",
    "kle",
    "lin",
    "maa",
    "mol",
    "nie",
    "oos",
    "pel",
    "rij",
    "sch",
    "sto",
    "ter",
    "ulm",
    "vel",
    "wen",
    "wou",
    "zan",
    "zee",
    "fen",
    "har",
    "kes",
    "lo",
    "ma",
    "ne",
    "ri",
    "sel",
    "ten",
    "tra",
    "va",
    "we",
    "bo",
    "ka",
    "la",
    "mee",
    "ste",
    "vin",
    "gra",
]
_TUSSEN = ("", "", "", "", "van ", "de ", "van der ", "van den ", "ter ", "van de ")


@dataclass(frozen=True, slots=True)
class NoiseRates:
    """Chance per copied record of each error (assumptions)."""

    first_typo: float = 0.15
    first_form: float = 0.10
    surname_typo: float = 0.15
    tussenvoegsel_form: float = 0.40
    date_swap: float = 0.08
    year_off: float = 0.08
    phone_missing: float = 0.25
    phone_typo: float = 0.03
    original_phone_missing: float = 0.10


NOISE = NoiseRates()


@dataclass(frozen=True, slots=True)
class LabelledRecords:
    """Records (shuffled) and the index pairs that are the same person."""

    records: list[Person]
    true_pairs: set[tuple[int, int]]


def _zipf(rng: random.Random, names: tuple[str, ...] | list[str]) -> str:
    weights = [1.0 / (rank + 1) for rank in range(len(names))]
    return rng.choices(names, weights=weights)[0]


def _tail_name(rng: random.Random, capitalise: bool = True) -> str:
    name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
    return name.capitalize() if capitalise else name


def _first_name(rng: random.Random) -> str:
    return _zipf(rng, FIRST_NAMES) if rng.random() < 0.6 else _tail_name(rng)


def _surname(rng: random.Random) -> str:
    if rng.random() < 0.45:
        return _zipf(rng, SURNAMES)
    return rng.choice(_TUSSEN) + _tail_name(rng)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("substitute", "delete", "insert", "transpose"))
    letter = rng.choice("abcdefghijklmnopqrstuvwxyz")
    if kind == "substitute":
        return word[:i] + letter + word[i + 1 :]
    if kind == "delete":
        return word[:i] + word[i + 1 :]
    if kind == "insert":
        return word[:i] + letter + word[i:]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def _split_surname(surname: str) -> tuple[str, str]:
    words = surname.split(" ")
    prefix = [w for w in words[:-1] if w.islower()]
    return " ".join(prefix), " ".join(words[len(prefix) :])


def _surname_form(rng: random.Random, surname: str) -> str:
    prefix, core = _split_surname(surname)
    if not prefix:
        return surname
    form = rng.choice(("abbreviated", "glued", "comma", "missing", "capital"))
    if form == "abbreviated":
        short = {"van der": "vd", "van den": "v.d.", "van de": "v.d."}.get(prefix, prefix)
        return f"{short} {core}"
    if form == "glued":
        return (prefix.replace(" ", "") + core.lower()).capitalize()
    if form == "comma":
        return f"{core}, {prefix}"
    if form == "missing":
        return core
    return f"{prefix.title()} {core}"


def _first_form(rng: random.Random, name: str) -> str:
    form = rng.choice(("upper", "lower", "plain"))
    if form == "upper":
        return name.upper()
    if form == "lower":
        return name.lower()
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("-", " ")


def _phone_form(rng: random.Random, phone: str) -> str:
    national = phone[3:]  # "+31" + 9 digits
    form = rng.randrange(5)
    if form == 0:
        return f"0{national[0]}-{national[1:]}"
    if form == 1:
        return f"+31 {national[0]} {national[1:5]} {national[5:]}"
    if form == 2:
        return f"0031{national}"
    if form == 3:
        return f"0{national[0]} {national[1:5]} {national[5:]}"
    return phone


def _noisy_copy(rng: random.Random, person: Person, noise: NoiseRates) -> Person:
    first, surname, born, phone = person.first_name, person.surname, person.birth_date, person.phone
    if rng.random() < noise.first_typo:
        first = _typo(rng, first)
    if rng.random() < noise.first_form:
        first = _first_form(rng, first)
    if rng.random() < noise.surname_typo:
        prefix, core = _split_surname(surname)
        surname = f"{prefix} {_typo(rng, core)}".strip()
    if rng.random() < noise.tussenvoegsel_form:
        surname = _surname_form(rng, surname)
    assert born is not None  # every synthetic person has a birth date
    draw = rng.random()
    if draw < noise.date_swap and born.day <= 12:
        born = date(born.year, born.day, born.month)
    elif draw < noise.date_swap + noise.year_off:
        year = born.year + rng.choice((-1, 1))
        born = (
            born.replace(year=year, day=28)
            if (born.month, born.day) == (2, 29)
            else born.replace(year=year)
        )
    if phone:
        if rng.random() < noise.phone_missing:
            phone = ""
        else:
            if rng.random() < noise.phone_typo:
                i = rng.randrange(5, len(phone))
                phone = phone[:i] + str((int(phone[i]) + 1) % 10) + phone[i + 1 :]
            phone = _phone_form(rng, phone)
    return Person(first, surname, born, phone)


def labelled_records(
    records: int, pairs: int, seed: int, noise: NoiseRates = NOISE
) -> LabelledRecords:
    """``records`` records of which ``pairs`` pairs are one person (an original and a noisy
    copy); all other records are distinct persons."""
    if pairs * 2 > records:
        raise ValueError("pairs cannot exceed half the records")
    rng = random.Random(seed)  # noqa: S311 (synthetic data, not secrets)
    start, days = date(1950, 1, 1), (date(2008, 12, 31) - date(1950, 1, 1)).days
    seen: set[tuple[str, str, date]] = set()  # normalised names and every tolerated date
    people: list[Person] = []
    phones: set[str] = set()
    while len(people) < records - pairs:
        first, surname = _first_name(rng), _surname(rng)
        born = start + timedelta(days=rng.randrange(days + 1))
        names = (normalise_first_name(first), normalise_surname(surname))
        variants = [(*names, day) for day in birth_date_variants(born)]
        if any(variant in seen for variant in variants):
            continue
        phone = f"+316{rng.randrange(10**8):08d}"
        if phone in phones:
            continue
        seen.update(variants)
        phones.add(phone)
        if rng.random() < noise.original_phone_missing:
            phone = ""
        people.append(Person(first, surname, born, phone))
    rows: list[tuple[int, Person]] = [(i, p) for i, p in enumerate(people)]
    rows += [(i, _noisy_copy(rng, people[i], noise)) for i in range(pairs)]
    rng.shuffle(rows)
    where: dict[int, list[int]] = {}
    for index, (person_id, _) in enumerate(rows):
        where.setdefault(person_id, []).append(index)
    truth = {(min(ix), max(ix)) for ix in where.values() if len(ix) == 2}
    return LabelledRecords([p for _, p in rows], truth)
