"""Near-duplicate text: masking, MinHash equal to datasketch, LSH pairs."""

from __future__ import annotations

import datasketch
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaal.ads.textsim import (
    ShingleHasher,
    TextSimConfig,
    estimated_jaccard,
    minhash,
    shingle_hashes,
    shingle_weights,
    text_links,
    weighted_similarity,
)


def test_signatures_are_bit_identical_to_datasketch() -> None:
    rng = np.random.default_rng(5)
    for size in (1, 3, 50, 400):
        shingles = np.unique(rng.integers(0, 2**32, size=size, dtype=np.uint64)).astype(np.uint32)
        ours = minhash(shingles, np.array([0, shingles.size]), num_perm=64, seed=1)[0]
        theirs = datasketch.MinHash(num_perm=64, seed=1, hashfunc=lambda x: x)
        theirs.update_batch([int(v) for v in shingles])
        assert np.array_equal(ours, theirs.hashvalues)


@settings(max_examples=40, deadline=None)
@given(
    st.sets(st.integers(0, 5000), min_size=20, max_size=300),
    st.sets(st.integers(0, 5000), min_size=20, max_size=300),
)
def test_estimated_jaccard_is_close_to_the_exact_jaccard(a: set[int], b: set[int]) -> None:
    exact = len(a & b) / len(a | b)
    flat = np.concatenate([np.array(sorted(a)), np.array(sorted(b))]).astype(np.uint32)
    sigs = minhash(flat, np.array([0, len(a), len(a) + len(b)]), num_perm=256, seed=3)
    # 256 permutations: standard error at most 0.5 / 16 = 0.031; allow four of them.
    assert abs(estimated_jaccard(sigs[0], sigs[1]) - exact) < 0.125


def test_masking_hides_names_places_numbers_and_contact_points() -> None:
    hasher = ShingleHasher(names=["Anna", "Bella"], places=["Utrecht", "Den Haag"])
    a = hasher.words("Ik ben Anna uit Utrecht, 23 jaar. Bel 06-91234567 of mail anna@example.com")
    b = hasher.words("Ik ben Bella uit Den Haag, 19 jaar. Bel +31 6 97654321 of mail b@example.net")
    assert a[:3] == b[:3]
    assert hasher.shingles(a).tolist() != []
    # "Den Haag" is two place words, so compare after the place run.
    assert a[-4:] == b[-4:]


def test_texts_with_a_shared_template_are_pairs_unrelated_texts_are_not() -> None:
    template = (
        "Hallo lieve heren, ik ben {n} uit {c} en ik ontvang je graag in mijn nette woning. "
        "Ik ben {a} jaar, slank en sportief, en heb alle tijd voor een ontspannen afspraak."
    )
    texts = [
        template.format(n="Anna", c="Utrecht", a=23),
        template.format(n="Bella", c="Zwolle", a=31),
        template.format(n="Cato", c="Ede", a=20).replace("slank en sportief", "lief en rustig"),
        "Massagepraktijk aan de rand van de stad, alleen op afspraak en met ervaren masseuses.",
        "",
    ]
    links = text_links(texts, names=["Anna", "Bella", "Cato"], places=["Utrecht", "Zwolle", "Ede"])
    pairs = {tuple(p) for p in links.pairs.tolist()}
    assert (0, 1) in pairs
    assert (0, 2) in pairs or (1, 2) in pairs
    assert not any(3 in p for p in pairs)
    assert not links.usable[4]


def test_shingles_do_not_depend_on_the_rest_of_the_corpus() -> None:
    text = "een tekst met genoeg woorden om shingles te maken voor deze test"
    alone, _ = shingle_hashes([text])
    together, offsets = shingle_hashes(["iets anders helemaal", text])
    assert np.array_equal(alone, together[offsets[1] : offsets[2]])


def test_bad_banding_is_refused() -> None:
    with pytest.raises(ValueError, match="bands"):
        TextSimConfig(num_perm=64, bands=10, rows=4)


def _words(count: int, seed: int) -> list[str]:
    """``count`` distinct made-up words without digits (a digit word is masked as a number)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("bcdfghjklmnprstvwz"))
    vowels = np.array(list("aeiou"))
    out: set[str] = set()
    while len(out) < count:
        out.add("".join(rng.choice(letters) + rng.choice(vowels) for _ in range(3)))
    return sorted(out)


def test_texts_sharing_only_a_common_boilerplate_line_are_no_template() -> None:
    # 200 short ads that all end with the same site line: two of them agree on more than half
    # of their shingles (the line), but what they share is what every ad of the corpus holds.
    boilerplate = "meer dames op onze site volg ons op telegram voor nieuwe dames elke dag"
    words = _words(200 * 5, seed=11)
    texts = [" ".join(words[5 * i : 5 * i + 5]) + " " + boilerplate for i in range(200)]
    plain = text_links(texts, config=TextSimConfig(idf_weighted=False))
    weighted = text_links(texts)
    assert plain.pairs.shape[0] > 100  # unweighted, the line makes them near-duplicates
    assert weighted.pairs.shape[0] == 0


def test_a_rare_template_with_edits_stays_linked_among_common_lines() -> None:
    boilerplate = "meer dames op onze site volg ons op telegram voor nieuwe dames elke dag"
    words = _words(200 * 5 + 20, seed=12)
    texts = [" ".join(words[5 * i : 5 * i + 5]) + " " + boilerplate for i in range(200)]
    template = words[1000:1020]
    edited = list(template)
    edited[9] = "zozozo"  # an edit seen once: a disagreement, not a rarity that outweighs all
    texts += [" ".join(template) + " " + boilerplate, " ".join(edited) + " " + boilerplate]
    links = text_links(texts)
    assert (200, 201) in {tuple(p) for p in links.pairs.tolist()}


def test_letters_swapped_or_doubled_inside_words_keep_a_text_its_shingles() -> None:
    # A rewrite typed in haste: every fourth word has two neighbouring letters swapped or a
    # letter doubled. Word by word that breaks most shingles; the text is still the same ad.
    words = _words(24, seed=13)
    typed = [
        (w[:2] + w[3] + w[2] + w[4:] if k % 8 == 3 else w[:3] + w[3] + w[3:]) if k % 4 == 3 else w
        for k, w in enumerate(words)
    ]
    hasher = ShingleHasher()
    assert hasher.words(" ".join(words)) == hasher.words(" ".join(typed))
    links = text_links([" ".join(words), " ".join(typed), " ".join(reversed(words))])
    assert {tuple(p) for p in links.pairs.tolist()} == {(0, 1)}


def test_different_words_of_the_same_letters_in_another_order_are_one_word() -> None:
    # The price of the tolerance: a word is its set of letters, so anagrams are one word. Text
    # shingles are runs of three words, weighed by how rare they are: this rarely matters.
    hasher = ShingleHasher()
    assert hasher.words("listen") == hasher.words("silent")
    assert hasher.words("listen") != hasher.words("lister")


def test_shingle_weights_and_weighted_similarity_do_not_depend_on_their_batch_sizes() -> None:
    # Large corpora are weighed a batch of texts (and looked up a block of rows) at a time, to
    # bound memory; small batches here must give every weight and similarity bit for bit.
    rng = np.random.default_rng(11)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    vocabulary = ["".join(rng.choice(letters, size=6)) for _ in range(40)]
    base = [" ".join(rng.choice(vocabulary, size=int(rng.integers(0, 25)))) for _ in range(120)]
    # Texts with an edit of an earlier one: pairs of every similarity between 0 and 1.
    edited = [
        text + " " + " ".join(rng.choice(vocabulary, size=k % 9)) for k, text in enumerate(base)
    ]
    texts = base + edited
    flat, offsets = shingle_hashes(texts)
    whole = shingle_weights(flat, offsets)
    for batch in (1, 7, 64):
        batched = shingle_weights(flat, offsets, batch=batch)
        assert np.array_equal(batched.mixed, whole.mixed)
        assert np.array_equal(batched.weight, whole.weight)
        assert batched.mean == whole.mean
    config = TextSimConfig()
    sigs = minhash(flat, offsets, num_perm=config.num_perm, seed=config.seed)
    pairs = np.array([(i, j) for i in range(0, 120, 2) for j in (i + 1, i + 120)])
    one_block = weighted_similarity(sigs, pairs, whole, config)
    assert np.unique(one_block).size > 3  # the pairs differ: the comparison is not vacuous
    for row_block in (1, 5, 33):
        blocks = weighted_similarity(sigs, pairs, whole, config, row_block=row_block)
        assert np.array_equal(blocks, one_block)
