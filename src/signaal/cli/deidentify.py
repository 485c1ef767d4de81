"""``signaal setup-deidentify``: build the de-identification lookup cache into the data folder."""

from __future__ import annotations

import time

import typer

from signaal.errors import ConfigurationError


def setup_deidentify(
    force: bool = typer.Option(False, "--force", help="Rebuild also when the cache is current."),
) -> None:
    """Build deduce's lookup cache into <data folder>/deduce (once; the web app loads it)."""
    from signaal.privacy import deidentifier
    from signaal.settings import get_settings

    settings = get_settings()
    started = time.perf_counter()
    try:
        built = deidentifier.build_cache(settings.data_dir, force=force)
    except ConfigurationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    folder = deidentifier.cache_dir(settings.data_dir)
    if built:
        typer.echo(
            f"De-identification cache built in {folder} ({time.perf_counter() - started:.0f} s)."
        )
    else:
        typer.echo(f"De-identification cache in {folder} is current; kept.")
