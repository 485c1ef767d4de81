"""``signaal triage``: the ad monitor's triage decisions on the command line (the operator's)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from signaal.cli.store import _errors, _fail, _store, out

triage_app = typer.Typer(help="The triage queue's decisions: labels for `signaal calibrate`.")


@triage_app.command("labels")
def triage_labels(
    organisation: Annotated[
        str, typer.Option("--organisation", help="Name or id of the organisation.")
    ],
    out_path: Annotated[
        Path, typer.Option("--out", help="Where to write the labels (JSON Lines).")
    ],
) -> None:
    """Write the organisation's triage decisions as labels for `signaal calibrate --truth`.

    One line per ad of every escalated (true) or dismissed (false) persona or network, in the run
    it was decided on: `{"ad_id", "controlled", "kind", "item_id"}`. A persona's own decision
    wins over its network's. Audited as `triage.labels_exported` with the file's SHA-256.
    """
    from signaal.chain.accounts import find_organisation
    from signaal.chain.authz import SYSTEM
    from signaal.monitor.triage import export_labels

    with _errors(), _store() as session:
        found = find_organisation(session, organisation)
        if found is None:
            _fail(f"no organisation {organisation!r}")
        export = export_labels(session, SYSTEM, found.id)
        out_path.write_text(export.text, encoding="utf-8")
    out.print(
        f"{export.n_decisions} decision(s), {export.n_ads} labelled ad(s) written to {out_path} "
        f"(sha256 {export.sha256})",
        highlight=False,
    )
    if export.n_without_ads:
        out.print(
            f"{export.n_without_ads} decision(s) on runs no longer stored: no ads to label",
            highlight=False,
        )
    if not export.n_ads:
        out.print("no labelled ads: escalate or dismiss items in the triage queue first")
