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
    preset: Annotated[
        str,
        typer.Option(
            "--preset",
            help="Named set of market-variation values: default (today's market) or hard (few "
            "reposts, popular names, missing fields, messenger words, shared boilerplate). "
            "Explicit options override the preset.",
        ),
    ] = "default",
    repost_share: Annotated[
        float | None,
        typer.Option("--repost-share", help="Share of ads that are reposts (0.05-0.6)."),
    ] = None,
    name_zipf: Annotated[
        float | None,
        typer.Option(
            "--name-zipf",
            help="Zipf exponent of popular working names (about 1: many women share a name).",
        ),
    ] = None,
    name_variant_share: Annotated[
        float | None,
        typer.Option(
            "--name-variant-share",
            help="Share of ads showing a nickname, typo or case variant of the name.",
        ),
    ] = None,
    no_age_share: Annotated[
        float | None, typer.Option("--no-age-share", help="Share of ads without a stated age.")
    ] = None,
    no_name_share: Annotated[
        float | None, typer.Option("--no-name-share", help="Share of ads without a name.")
    ] = None,
    no_phone_share: Annotated[
        float | None,
        typer.Option("--no-phone-share", help="Share of ads without any phone number."),
    ] = None,
    messenger_share: Annotated[
        float | None,
        typer.Option(
            "--messenger-share",
            help="Share of numbers in the text preceded by a messenger word (WhatsApp, telegram).",
        ),
    ] = None,
    shared_boilerplate_share: Annotated[
        float | None,
        typer.Option(
            "--shared-boilerplate-share",
            help="Share of agencies and networks sharing one handle, and of ads ending with "
            "their site's boilerplate.",
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
    from signaal.synth.config import MARKET_KNOBS, preset_config
    from signaal.synth.stats import stats_table

    console = Console()
    if out is None:
        raise typer.BadParameter("--out DIR is required", param_hint="--out")
    only_stats = stats and (out / "ads.jsonl").exists() and (out / "truth.jsonl").exists()
    generating = any(
        (source := ctx.get_parameter_source(name)) is not None and source.name != "DEFAULT"
        for name in ("ads", "seed", "photos", "days", "controlled_share", "preset", *MARKET_KNOBS)
    )
    if not (only_stats and not generating):
        base = SynthConfig()
        try:
            shares = (
                shares_with_controlled(base.class_shares, controlled_share)
                if controlled_share is not None
                else base.class_shares
            )
            given = {
                "repost_share": repost_share,
                "name_zipf": name_zipf,
                "name_variant_share": name_variant_share,
                "no_age_share": no_age_share,
                "no_name_share": no_name_share,
                "no_phone_share": no_phone_share,
                "messenger_share": messenger_share,
                "shared_boilerplate_share": shared_boilerplate_share,
            }
            config = preset_config(
                preset,
                seed=seed,
                ads=ads,
                photos=photos,
                days=days,
                class_shares=shares,
                **{k: v for k, v in given.items() if v is not None},
            )
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
