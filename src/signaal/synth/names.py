"""Working names as they appear in Dutch ads, most popular first, and their written variants.

Assumption, not a count: the order follows what a reader of Dutch ad sites sees most (short,
international, easy to say), invented for ads rather than taken from any register of real people.
The generator draws from this list with Zipf-like weights (``SynthConfig.name_zipf``), so that many
unrelated women advertise under the same name, as on real sites. See docs/synthetic-data.md.
"""

from __future__ import annotations

import random

#: Working names, most popular first.
AD_NAMES: tuple[str, ...] = (
    "Chantal", "Bella", "Lisa", "Sophie", "Nina", "Angel", "Jessica", "Kim", "Sandra", "Lola",
    "Monique", "Eva", "Natasha", "Bianca", "Linda", "Sabrina", "Maria", "Jasmijn", "Daisy",
    "Roxy", "Vanessa", "Samantha", "Laura", "Melissa", "Anna", "Mia", "Julia", "Emma",
    "Priscilla", "Tamara", "Naomi", "Kelly", "Britt", "Denise", "Carmen", "Paola", "Valentina",
    "Isabella", "Gabriela", "Luna", "Scarlett", "Ruby", "Candy", "Diamond", "Crystal", "Destiny",
    "Amber", "Jade", "Mandy", "Yvonne", "Esmee", "Fleur", "Romy", "Demi", "Kiki", "Noor",
    "Ilona", "Alina", "Diana", "Elena", "Irina", "Katja", "Oksana", "Svetlana", "Viktoria",
    "Andreea", "Ioana", "Raluca", "Bogdana", "Milena", "Daniela", "Camila", "Lucia", "Sofia",
    "Ximena", "Mariana", "Yasmin", "Leila", "Amira", "Tiffany", "Barbie", "Cherry", "Honey",
    "Lexi", "Nikki", "Stacy", "Vicky", "Zoe", "Nadia", "Sasha", "Tanja", "Roos", "Sanne",
    "Lotte", "Femke", "Iris", "Marloes", "Petra", "Wendy", "Ingrid",
)  # fmt: skip

#: Nicknames and short forms a woman uses beside her working name (assumption).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Chantal": ("Chan", "Chantalle"),
    "Bella": ("Belle", "Bellaa"),
    "Lisa": ("Lies", "Lisaa"),
    "Sophie": ("Sofie", "Soph"),
    "Nina": ("Ninaa", "Nien"),
    "Angel": ("Angie", "Angela"),
    "Jessica": ("Jess", "Jessy"),
    "Natasha": ("Tasha", "Natascha"),
    "Samantha": ("Sam", "Sammy"),
    "Valentina": ("Vale", "Tina"),
    "Isabella": ("Isa", "Bella"),
    "Gabriela": ("Gabi", "Gabriella"),
    "Viktoria": ("Vika", "Victoria"),
    "Svetlana": ("Sveta", "Lana"),
    "Alexandra": ("Alex", "Sasha"),
    "Daniela": ("Dani", "Daniella"),
    "Melissa": ("Mel", "Missy"),
    "Monique": ("Mo", "Moniek"),
    "Sabrina": ("Sabri", "Brina"),
    "Vanessa": ("Ness", "Vanesa"),
}


def zipf_weights(n: int, exponent: float) -> list[float]:
    """Cumulative weights of ranks 1..n under a Zipf law with ``exponent``."""
    out: list[float] = []
    total = 0.0
    for rank in range(1, n + 1):
        total += rank**-exponent
        out.append(total)
    return out


def name_variant(name: str, rng: random.Random) -> str:
    """A way the same woman writes her name in another ad: a nickname, a typo or another case."""
    kind = rng.randrange(4)
    if kind == 0 and name in NICKNAMES:
        return rng.choice(NICKNAMES[name])
    if kind == 1 and len(name) > 3:
        i = rng.randrange(1, len(name) - 1)
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]  # two letters swapped
    if kind == 2:
        return name.upper() if rng.random() < 0.5 else name.lower()
    decorations = ("{}", "{}xx", "~{}~", "{} ❤", "{}!")
    return rng.choice(decorations).format(name) if kind == 3 else name.lower()
