"""``signaal synth``: generate a synthetic Dutch ad market, or print the statistics of one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def synth(
    ctx: typer.Context,
    ads: Annotated[int, typer.Option("--ads", help="Number of ads to generate.")] = 5000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same corpus).")] = 1,
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory to write the corpus into.")
    ] = None,
    photos: Annotated[
        bool, typer.Option("--photos", help="Also generate photo files (slower).")
    ] = False,
    stats: Annotated[
        bool,
        typer.Option(
            "--stats",
            help="Print the corpus statistics. With --out and no generation options, reads the "
            "existing corpus in --out; after generating, describes the new corpus.",
        ),
    ] = False,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes (default: all cores).")
    ] = None,
    days: Annotated[int, typer.Option("--days", help="Length of the observed period.")] = 91,
    controlled_share: Annotated[
        float | None,
        typer.Option(
            "--controlled-share",
            help="Share of ads from controlled workers (default 0.05); other classes are "
            "scaled to fill the rest.",
        ),
    ] = None,
) -> None:
    """Generate a synthetic Dutch ad market with planted ground truth (no real person's data).

    Writes ads.jsonl, truth.jsonl, movements.jsonl, manifest.json, pages/ and (with --photos)
    photos/ into --out. See docs/synthetic-data.md.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from signaal.synth import SynthConfig, generate, load_stats, shares_with_controlled
    from signaal.synth.stats import stats_table

    console = Console()
    if out is None:
        raise typer.BadParameter("--out DIR is required", param_hint="--out")
    only_stats = stats and (out / "ads.jsonl").exists() and (out / "truth.jsonl").exists()
    generating = any(
        (source := ctx.get_parameter_source(name)) is not None and source.name != "DEFAULT"
        for name in ("ads", "seed", "photos", "days", "controlled_share")
    )
    if not (only_stats and not generating):
        base = SynthConfig()
        try:
            shares = (
                shares_with_controlled(base.class_shares, controlled_share)
                if controlled_share is not None
                else base.class_shares
            )
            config = SynthConfig(seed=seed, ads=ads, photos=photos, days=days, class_shares=shares)
            config.validate()
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            manifest = generate(config, out, workers=workers, progress=progress)
        c = manifest.counts
        console.print(
            f"Wrote {c['ads']:,} ads ({c['personas']:,} personas, {c['networks']:,} networks, "
            f"{c['phones']:,} phones, {c['photos']:,} photos, {c['pages']:,} pages) to {out}"
        )
    if stats:
        console.print(stats_table(load_stats(out)))
