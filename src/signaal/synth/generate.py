"""Generating a corpus: plan the groups, render them in parallel chunks, merge deterministically.

1. **Plan** (one process): build groups class by class until each class has its share of the
   ads; the last group of a class is cut to fit, so the corpus has exactly ``config.ads`` ads.
   Planning fixes every group's index, the serial of its first posting and of its first phone in
   each number block, so ids and numbers are unique without coordination.
2. **Render** (worker processes): chunks of consecutive groups, fixed by the plan alone, each
   written to a temporary file sorted by (UTC time, id).
3. **Merge**: the sorted chunk files are merged into ``ads.jsonl`` and ``truth.jsonl``.

The chunks do not depend on the number of workers, so the output is byte-identical for the same
seed and options whatever ``workers`` is.
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import random
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from signaal.synth.config import CLASSES, SynthConfig
from signaal.synth.geodata import tables
from signaal.synth.render import GroupRef, PhotoTask, render_group
from signaal.synth.world import build_group

GENERATOR_VERSION = "1"
CHUNK_ADS = 20_000

ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class SynthManifest:
    """What was generated: written to ``manifest.json`` beside the corpus."""

    generator_version: str
    seed: int
    options: dict[str, Any]
    counts: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "generator_version": self.generator_version,
            "seed": self.seed,
            "options": self.options,
            "counts": self.counts,
            "files": self.files,
        }


def class_budgets(cfg: SynthConfig) -> dict[str, int]:
    """Ads per class: shares of ``cfg.ads`` rounded by largest remainder (sums exactly)."""
    raw = {c: cfg.class_shares[c] * cfg.ads for c in CLASSES}
    out = {c: int(v) for c, v in raw.items()}
    left = cfg.ads - sum(out.values())
    for c in sorted(CLASSES, key=lambda c: (-(raw[c] - out[c]), CLASSES.index(c)))[:left]:
        out[c] += 1
    return out


def _count_groups(
    cfg: SynthConfig, cls: str, items: list[tuple[int, str | None]]
) -> list[tuple[int, tuple[str, ...]]]:
    """What planning needs of each group: its number of postings and its phones' blocks."""
    out = []
    for gi, victim in items:
        group = build_group(cfg, gi, cls, victim)
        out.append((len(group.events), tuple(blk for blk, _ in group.phones)))
    return out


def plan(cfg: SynthConfig, pool: Executor | None = None) -> list[GroupRef]:
    """The groups of the corpus, in index order, with what each contributes.

    Groups are built in batches (in parallel when ``pool`` is given) of sizes fixed by the
    configuration alone: the first batch of a class has 8 groups, each next one twice as many
    (at most 512). Groups of the last batch beyond the class's budget are not used and their
    indices are skipped, so the plan does not depend on the number of workers.
    """
    cfg.validate()
    rng = random.Random(cfg.seed * 7919 + 17)  # noqa: S311 (reproducible simulation)
    refs: list[GroupRef] = []
    phone_counts: Counter[str] = Counter()
    victims: list[str] = []
    gi = 0
    ad_base = 0
    for cls, budget in class_budgets(cfg).items():
        got = 0
        empty = 0
        batch = 8
        while got < budget:
            indices = list(range(gi, gi + batch))
            picks = [rng.choice(victims) if cls == "scammer" and victims else None for _ in indices]
            items = list(zip(indices, picks, strict=True))
            if pool is not None and batch >= 64:
                parts = [items[i : i + 32] for i in range(0, batch, 32)]
                counted = [
                    c
                    for part in pool.map(
                        _count_groups, [cfg] * len(parts), [cls] * len(parts), parts
                    )
                    for c in part
                ]
            else:
                counted = _count_groups(cfg, cls, items)
            for g, victim, (n, blocks) in zip(indices, picks, counted, strict=True):
                if got >= budget:
                    break
                if n == 0:
                    empty += 1
                    if empty > 1000:
                        raise RuntimeError(f"class {cls} produces no postings; check the config")
                    continue
                take = min(n, budget - got)
                base = tuple((blk, phone_counts[blk]) for blk in sorted(set(blocks)))
                phone_counts.update(blocks)
                refs.append(GroupRef(g, cls, take, victim, ad_base, base))
                ad_base += take
                got += take
                if cls in ("independent", "touring"):
                    victims.append(f"{g}.0")
            gi += batch
            batch = min(batch * 2, 512)
    return refs


def chunks(refs: list[GroupRef], size: int | None = None) -> list[list[GroupRef]]:
    """Consecutive groups of about ``size`` ads (default ``CHUNK_ADS``); fixed by the plan."""
    size = size if size is not None else CHUNK_ADS
    out: list[list[GroupRef]] = []
    cur: list[GroupRef] = []
    n = 0
    for ref in refs:
        cur.append(ref)
        n += ref.take
        if n >= size:
            out.append(cur)
            cur, n = [], 0
    if cur:
        out.append(cur)
    return out


@dataclass(slots=True)
class _ChunkResult:
    index: int
    path: str
    ads: int
    moves: list[tuple[str, bytes]]
    photos: list[PhotoTask]
    pages: int
    by_class: dict[str, int]
    personas: int
    networks: int
    phones: int


def _render_chunk(
    cfg: SynthConfig, index: int, refs: list[GroupRef], tmp: str, out_dir: str
) -> _ChunkResult:
    from signaal.synth.pages import write_page

    lines: list[tuple[str, bytes, bytes]] = []
    moves: list[tuple[str, bytes]] = []
    photos: list[PhotoTask] = []
    pages = 0
    by_class: Counter[str] = Counter()
    personas = networks = phones = 0
    for ref in refs:
        group = build_group(cfg, ref.gi, ref.cls, ref.victim)
        r = render_group(cfg, ref, group)
        # Groups share no persona, network or phone, so counts add up over groups and chunks.
        by_class[ref.cls] += len(r.lines)
        personas += len({group.personas[e[1]].persona_id for e in group.events[: ref.take]})
        networks += 1
        phones += len({e[6] for e in group.events[: ref.take]})
        lines.extend(r.lines)
        moves.extend(r.moves)
        photos.extend(r.photos)
        for site_key, record in r.pages:
            write_page(Path(out_dir), site_key, record)
            pages += 1
    lines.sort(key=lambda x: x[0])
    path = os.path.join(tmp, f"chunk-{index:05d}")
    with open(path, "wb") as fh:
        fh.writelines(k.encode() + b"\t" + a + b"\t" + t + b"\n" for k, a, t in lines)
    return _ChunkResult(
        index, path, len(lines), moves, photos, pages, dict(by_class), personas, networks, phones
    )


def _read_lines(fh: BinaryIO) -> Iterator[bytes]:
    yield from fh


def _executor(workers: int) -> Executor | None:
    if workers <= 1:
        return None
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method))


def generate(
    config: SynthConfig,
    out_dir: Path,
    *,
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> SynthManifest:
    """Generate a corpus into ``out_dir`` (created; existing corpus files are replaced).

    ``progress(stage, done, total)`` is called as stages advance (stage: "plan", "ads",
    "photos"). The output is byte-identical for the same config whatever ``workers`` is.
    """
    config.validate()
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("pages", "photos"):
        if (out_dir / stale).exists():
            shutil.rmtree(out_dir / stale)
    n_workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    tables()  # load the geography once, before worker processes fork
    pool = _executor(n_workers)
    try:
        refs = plan(config, pool)
    except BaseException:
        if pool is not None:
            pool.shutdown()
        raise
    if progress:
        progress("plan", 1, 1)
    parts = chunks(refs)
    results: list[_ChunkResult | None] = [None] * len(parts)
    done = 0
    with tempfile.TemporaryDirectory(prefix="signaal-synth-", dir=out_dir) as tmp:
        try:
            if pool is None:
                for i, part in enumerate(parts):
                    results[i] = _render_chunk(config, i, part, tmp, str(out_dir))
                    done += results[i].ads  # type: ignore[union-attr]
                    if progress:
                        progress("ads", done, config.ads)
            else:
                futures = [
                    pool.submit(_render_chunk, config, i, part, tmp, str(out_dir))
                    for i, part in enumerate(parts)
                ]
                for fut in as_completed(futures):
                    res = fut.result()
                    results[res.index] = res
                    done += res.ads
                    if progress:
                        progress("ads", done, config.ads)
            final = [r for r in results if r is not None]
            counts = _merge(out_dir, final)
            photo_tasks = sorted(
                (t for r in final for t in r.photos), key=lambda t: (t.owner, t.index, t.path)
            )
            if config.photos:
                from signaal.synth.photos import write_photos

                write_photos(config, out_dir, photo_tasks, pool, progress)
        finally:
            if pool is not None:
                pool.shutdown()
    moves = sorted(m for r in final for m in r.moves)
    with open(out_dir / "movements.jsonl", "wb") as fh:
        fh.writelines(m + b"\n" for _, m in moves)
    counts["movements"] = len(moves)
    counts["photos"] = len(photo_tasks) if config.photos else 0
    counts["pages"] = sum(r.pages for r in final)
    counts["groups"] = len(refs)
    manifest = SynthManifest(
        generator_version=GENERATOR_VERSION,
        seed=config.seed,
        options=config.to_json(),
        counts=counts,
        files={
            "ads": "ads.jsonl",
            "truth": "truth.jsonl",
            "movements": "movements.jsonl",
            "photos": "photos/" if config.photos else "",
            "pages": "pages/",
        },
    )
    (out_dir / "manifest.json").write_bytes(
        orjson.dumps(manifest.to_json(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )
    return manifest


def _merge(out_dir: Path, results: list[_ChunkResult]) -> dict[str, Any]:
    """Merge the sorted chunk files into ads.jsonl and truth.jsonl (streaming)."""
    n = 0
    with ExitStack() as stack:
        files = [stack.enter_context(open(r.path, "rb")) for r in results]
        ads = stack.enter_context(open(out_dir / "ads.jsonl", "wb"))
        truth = stack.enter_context(open(out_dir / "truth.jsonl", "wb"))
        ad_buf: list[bytes] = []
        truth_buf: list[bytes] = []
        for line in heapq.merge(*(_read_lines(f) for f in files)):
            _, ad, tr = line.split(b"\t")
            ad_buf.append(ad)
            truth_buf.append(tr)
            if len(ad_buf) >= 10_000:
                n += len(ad_buf)
                ads.write(b"\n".join(ad_buf) + b"\n")
                truth.write(b"".join(truth_buf))
                ad_buf.clear()
                truth_buf.clear()
        if ad_buf:
            n += len(ad_buf)
            ads.write(b"\n".join(ad_buf) + b"\n")
            truth.write(b"".join(truth_buf))
    by_class: Counter[str] = Counter()
    for r in results:
        by_class.update(r.by_class)
    return {
        "ads": n,
        "ads_by_class": {c: by_class.get(c, 0) for c in CLASSES},
        "personas": sum(r.personas for r in results),
        "networks": sum(r.networks for r in results),
        "phones": sum(r.phones for r in results),
    }
