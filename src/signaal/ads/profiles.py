"""Advertised profiles (name, age) as same-persona evidence, weighed by how common they are.

Two ads that share an identifier (a contact point, a photo, a text template) are the same woman
when their profiles agree, unless another woman seen with that identifier could have the same
profile by chance. How likely that is depends on the corpus: on an agency's phone with nine women,
"Chantal" may well be two of them when a fifth of the market is called Chantal, while "Bogdana" is
one. The evidence of an agreement is therefore weighed by the frequency of the value in the corpus
being analysed, in the spirit of the term-frequency adjustments of probabilistic record linkage
(Fellegi-Sunter; splink): the rarer the name and age, the more their agreement says.

For one evidence group (the ads of one identifier) and one profile, the **expected number of
unrelated collisions** is

    E = (women seen with the identifier - 1) * P(name class) * P(age)

where the women are counted as the distinct name classes of the group (a lower bound), P(name
class) is the share of (identifier, name) pairs of the corpus that carry a name of the class and
P(age) the share of (identifier, name, age) profiles with that age (for the one-year drift the two
ages together; an unknown age is no evidence, P = 1). Unrelated women arrive independently, so the
number of collisions is about Poisson: the profile is joined when a collision is less likely than
none, ``1 - exp(-E) < 1/2``, that is ``E < ln 2``. No constant is tuned: the threshold is a
probability, the frequencies are the corpus's own.

**Name classes**: inside one group, names that are written variants of each other are one class,
so "Sophie", "Soph" and "SOPHIE xx" on one phone are one woman (a nickname or short form that is a
prefix or suffix of the name, one letter inserted or left out, or two neighbouring letters
swapped; a changed letter is not enough, "Sasha" and "Tasha" are two names).
The class is per group: two unrelated women called Sofia and Sofie on different phones are never
compared, and on one phone their ages and the collision rule still keep them apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from signaal.ads.graph import IntArray, components, run_starts

#: A collision is less likely than none: ``1 - exp(-E) < 1/2``.
MAX_EXPECTED_COLLISIONS = math.log(2.0)


@lru_cache(maxsize=1 << 18)
def similar_names(a: str, b: str) -> bool:
    """Whether two normalised names can be the same woman's: equal, one a prefix (at least three
    letters) or suffix (at least four) of the other, or one letter inserted or two neighbours
    swapped when both have at least four letters."""
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= 3 and long_.startswith(short):
        return True
    if len(short) >= 4 and long_.endswith(short):
        return True
    return len(short) >= 4 and len(long_) - len(short) <= 1 and _one_edit(short, long_)


def _one_edit(short: str, long_: str) -> bool:
    """One insertion (``long_`` is one longer) or a swap of two neighbours apart. A changed
    letter is not enough: "Sasha" and "Tasha", "Sofia" and "Sofie" are different names."""
    if len(long_) == len(short) + 1:
        i = 0
        while i < len(short) and short[i] == long_[i]:
            i += 1
        return short[i:] == long_[i + 1 :]
    diff = [i for i in range(len(short)) if short[i] != long_[i]]
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and short[diff[0]] == long_[diff[1]]
        and short[diff[1]] == long_[diff[0]]
    )


def name_classes(
    group: IntArray, name: IntArray, names: Sequence[str]
) -> tuple[IntArray, IntArray, IntArray]:
    """The name classes of distinct (group, name) rows sorted by group then name.

    Returns (class name id per row: the smallest name id of its class in the group, the rows'
    group, the rows' name). Only names that share their first two letters, their last three or
    their letters (a swap of two neighbours keeps them) are compared, so a group with many names
    costs little.
    """
    n = group.size
    if n == 0:
        return name.copy(), group, name
    nodes: list[tuple[int, int]] = []
    for key_of in (_head, _tail, _letters):
        keys: dict[str, int] = {}
        block = np.asarray(
            [keys.setdefault(key_of(names[k]), len(keys)) for k in name.tolist()], dtype=np.int64
        )
        order = np.lexsort((np.arange(n), block, group))
        g, b = group[order], block[order]
        start = np.flatnonzero(run_starts(g, b))
        sizes = np.diff(np.append(start, n))
        for s, size in zip(start.tolist(), sizes.tolist(), strict=True):
            if size < 2:
                continue
            members = order[s : s + size].tolist()
            for x in range(size):
                a = members[x]
                for y in range(x + 1, size):
                    c = members[y]
                    if similar_names(names[int(name[a])], names[int(name[c])]):
                        nodes.append((a, c))
    if not nodes:
        return name.copy(), group, name
    labels = components(n, np.asarray(nodes, dtype=np.int64))
    # Rows are sorted by (group, name): the smallest row of a class holds its smallest name id.
    return name[labels], group, name


def _head(name: str) -> str:
    return name[:2]


def _letters(name: str) -> str:
    # "Lisa" and "Lsia" share neither their first two nor their last three letters.
    return "".join(sorted(name))


def _tail(name: str) -> str:
    # A suffix match needs four letters; a shorter name is its own block.
    return name[-3:] if len(name) >= 4 else "<" + name


def collision_ok(expected: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Where a chance collision is less likely than none (``E < ln 2``)."""
    return expected < MAX_EXPECTED_COLLISIONS
