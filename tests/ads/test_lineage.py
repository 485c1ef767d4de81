"""Stable persona and network ids between runs, and the merges and splits between them
(signaal.ads.lineage), on hand-made assignments and on two runs of the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

from ads.adfactories import record_json
from signaal.ads.lineage import PreviousIds, carried_names, carry_ids
from signaal.ads.link import persona_id
from signaal.ads.pipeline import PipelineConfig, run
from signaal.ads.read import read_records
from signaal.ads.types import Link, Linkage, LinkKind, SharedEvidence

KEY = "lineage-test-key"


def test_a_group_keeps_the_old_name_even_when_a_smaller_ad_joins_it() -> None:
    previous = {"b:2": "P-old", "b:3": "P-old"}
    # A new ad with a smaller id heads the group now: its provisional name would change.
    current = {"a:1": "P-new", "b:2": "P-new", "b:3": "P-new"}
    assert carried_names(previous, current, persona_id) == {"P-new": "P-old"}


def test_a_split_leaves_the_old_name_with_the_larger_part_and_a_free_name_to_the_other() -> None:
    previous = {"x:1": "P-x1", "x:2": "P-x1", "x:3": "P-x1"}
    # The smaller part holds the old group's smallest ad, so its provisional name is the old
    # name itself: it must not take it.
    current = {"x:1": "P-x1", "x:2": "P-x2", "x:3": "P-x2"}
    names = carried_names(previous, current, persona_id)
    assert names["P-x2"] == "P-x1"
    assert names["P-x1"] == persona_id("x:1#2")
    assert len(set(names.values())) == 2


def test_a_merge_keeps_the_name_of_the_old_group_with_most_ads_and_names_are_one_to_one() -> None:
    previous = {"a:1": "P-a", "b:1": "P-b", "b:2": "P-b", "c:1": "P-c"}
    current = {"a:1": "P-m", "b:1": "P-m", "b:2": "P-m", "c:1": "P-c2"}
    assert carried_names(previous, current, persona_id) == {"P-m": "P-b", "P-c2": "P-c"}


def test_ties_are_broken_the_same_way_whatever_the_input_order() -> None:
    previous = {"a:1": "P-a", "b:1": "P-b"}
    current = {"b:1": "P-m", "a:1": "P-m"}
    reordered = dict(reversed(list(current.items())))
    assert carried_names(previous, current, persona_id) == {"P-m": "P-a"}
    assert carried_names(previous, reordered, persona_id) == {"P-m": "P-a"}


def test_a_new_group_keeps_its_own_name() -> None:
    assert carried_names({"a:1": "P-a"}, {"a:1": "P-a", "z:9": "P-z"}, persona_id) == {
        "P-a": "P-a",
        "P-z": "P-z",
    }


def _linkage() -> Linkage:
    # This run: a:1, b:1 and n:1 (a new ad) are one persona; c:1 and c:2 two personas.
    phone = SharedEvidence(LinkKind.PHONE, "phone:ab", ("P-c1", "P-c2"), ("c:1", "c:2"))
    return Linkage(
        links=(
            Link("a:1", "n:1", LinkKind.PHONE, "phone:12 same persona"),
            Link("b:1", "n:1", LinkKind.TEXT, "text jaccard 0.9"),
            Link("c:1", "c:2", LinkKind.PHONE, "phone:ab shared by 2 personas"),
        ),
        persona_of_ad={"a:1": "P-a1", "b:1": "P-a1", "n:1": "P-a1", "c:1": "P-c1", "c:2": "P-c2"},
        network_of_persona={"P-a1": "N-a1", "P-c1": "N-c1", "P-c2": "N-c1"},
        network_reasons={"N-c1": ("phone phone:ab shared by 2 personas",)},
        shared={"P-c1": (phone,), "P-c2": (phone,)},
    )


def test_carry_ids_renames_everywhere_and_reports_merges_and_splits_with_evidence() -> None:
    previous = PreviousIds(
        persona_of_ad={"a:1": "P-old-a", "b:1": "P-old-b", "c:1": "P-old-c", "c:2": "P-old-c"},
        network_of_ad={"a:1": "N-old-a", "b:1": "N-old-b", "c:1": "N-old-c", "c:2": "N-old-c"},
    )
    linkage, events = carry_ids(_linkage(), previous)
    personas = linkage.persona_of_ad
    assert personas["a:1"] == personas["b:1"] == personas["n:1"] == "P-old-a"
    # A tie (one ad each): the old name goes to the first group by name; the other keeps its own.
    assert (personas["c:1"], personas["c:2"]) == ("P-old-c", "P-c2")
    assert set(linkage.network_of_persona) == set(personas.values())
    assert linkage.network_of_persona["P-old-a"] == "N-old-a"
    assert set(linkage.network_reasons) == {"N-old-c"}
    evidence = linkage.shared[personas["c:1"]][0]
    assert evidence is linkage.shared[personas["c:2"]][0]  # still one object
    assert list(evidence.personas) == sorted(evidence.personas)
    assert dict(zip(evidence.personas, evidence.ad_ids, strict=True)) == {
        personas["c:1"]: "c:1",
        personas["c:2"]: "c:2",
    }

    by_kind = {(e.level, e.kind): e for e in events}
    merged = by_kind[("persona", "merged")]
    assert merged.item_id == "P-old-a"
    assert merged.previous_ids == ("P-old-a", "P-old-b")
    # The new ad bridged the two old personas: both of its links are the evidence.
    assert [(e.ad_id_a, e.ad_id_b) for e in merged.evidence] == [("a:1", "n:1"), ("b:1", "n:1")]
    split = by_kind[("persona", "split")]
    assert split.item_id == "P-old-c"
    assert split.current_ids[0] == "P-old-c"
    assert set(split.current_ids) == {personas["c:1"], personas["c:2"]}
    assert [e.evidence for e in split.evidence] == ["phone:ab shared by 2 personas"]
    assert ("network", "merged") in by_kind  # N-old-a and N-old-b are one network now
    assert ("network", "split") not in by_kind


def test_without_changes_there_are_no_events_and_the_linkage_is_the_same() -> None:
    linkage = _linkage()
    previous = PreviousIds(
        persona_of_ad=dict(linkage.persona_of_ad),
        network_of_ad={a: linkage.network_of_persona[p] for a, p in linkage.persona_of_ad.items()},
    )
    carried, events = carry_ids(linkage, previous)
    assert events == ()
    assert carried == linkage


def _write(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_two_pipeline_runs_keep_a_persona_id_when_an_ad_with_a_smaller_id_joins(
    tmp_path: Path,
) -> None:
    day1 = [
        record_json(id=f"site:b{i}", url=f"https://example.test/b{i}", phones=["06-90000011"])
        for i in range(3)
    ] + [
        record_json(
            id="site:c1",
            url="https://example.test/c1",
            name="Mira",
            title="Mira",
            text="Hoi, ik ben Mira.",
            phones=["06-90000022"],
        )
    ]
    newcomer = record_json(id="site:a0", url="https://example.test/a0", phones=["06-90000011"])
    config = PipelineConfig(pseudonym_key=KEY, photos=False)
    first = run(read_records(_write(tmp_path / "day1.jsonl", day1)), config)
    old = first.linkage.persona_of_ad["site:b0"]

    both = _write(tmp_path / "day2.jsonl", [*day1, newcomer])
    plain = run(read_records(both), config)
    assert plain.linkage.persona_of_ad["site:b0"] != old  # named after site:a0 now
    previous = PreviousIds(
        persona_of_ad=first.linkage.persona_of_ad,
        network_of_ad={
            ad: first.linkage.network_of_persona[p] for ad, p in first.linkage.persona_of_ad.items()
        },
    )
    carried = run(
        read_records(both),
        PipelineConfig(pseudonym_key=KEY, photos=False, previous_ids=previous),
    )
    assert carried.linkage.persona_of_ad["site:a0"] == old
    assert carried.linkage.persona_of_ad["site:c1"] == first.linkage.persona_of_ad["site:c1"]
    assert carried.lineage == ()
    assert old in carried.risk.personas
