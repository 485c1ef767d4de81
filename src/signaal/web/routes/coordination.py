"""The coordinator's dashboard, ``/coordinatie/dashboard``, and its tables as CSV
(``/coordinatie/dashboard.csv?tabel=bron|gemeente|fase|achterstallig|eerste-contact``).

Counts only (see :mod:`signaal.chain.dashboard`): no names, texts or contact points, so no read
of a person's record is audited. The charts are server-rendered inline SVG bars next to the
numbers in a plain table (screen readers read the table; the bars are decoration).
"""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from signaal.ads.outputs import neutralise_cell
from signaal.chain import dashboard
from signaal.chain.authz import Action
from signaal.errors import NotFoundError
from signaal.web.app import web_state
from signaal.web.context import RequestContext, guard
from signaal.web.i18n import N_

router = APIRouter()

Coordinator = Annotated[RequestContext, guard(Action.VIEW_CHAIN_DASHBOARD)]

TABLE_TITLES: dict[str, str] = {
    "bron": N_("Signals this month by source"),
    "gemeente": N_("Signals this month by municipality"),
    "fase": N_("Open cases by stage"),
    "achterstallig": N_("Overdue follow-ups"),
}
MAX_TABLE_NAME = 32


def _bars(header: list[str], rows: list[list[str]]) -> list[dict[str, object]]:
    """Each row with its label, count and the bar's share of the largest count (0-100)."""
    counts = [int(row[-1]) for row in rows]
    largest = max(counts, default=0)
    return [
        {
            "label": row[-2],
            "count": count,
            "width": round(100 * count / largest, 1) if largest else 0,
        }
        for row, count in zip(rows, counts, strict=True)
    ]


@router.get("/coordinatie/dashboard")
def coordination_dashboard(ctx: Coordinator) -> Response:
    board = dashboard.build(ctx.db, ctx.acting)
    charts = []
    for table, title in TABLE_TITLES.items():
        header, rows = dashboard.table_rows(board, table, ctx.locale)
        charts.append(
            {"name": table, "title": title, "header": header, "bars": _bars(header, rows)}
        )
    context = {
        "board": board,
        "charts": charts,
        "first_contact": board.first_contact,
    }
    return web_state(ctx.request).renderer.page(ctx.request, "coordination_dashboard.html", context)


def write_csv(header: list[str], rows: list[list[str]]) -> str:
    """CSV text; no cell can start a spreadsheet formula (see ads.outputs.neutralise_cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise_cell(cell) for cell in header])
    writer.writerows([[neutralise_cell(cell) for cell in row] for row in rows])
    return buffer.getvalue()


@router.get("/coordinatie/dashboard.csv")
def coordination_dashboard_csv(
    ctx: Coordinator,
    tabel: Annotated[str, Query(max_length=MAX_TABLE_NAME)] = "bron",
) -> Response:
    if tabel not in dashboard.TABLES:
        raise NotFoundError("no such table")
    board = dashboard.build(ctx.db, ctx.acting)
    header, rows = dashboard.table_rows(board, tabel, ctx.locale)
    filename = f"signaal-{tabel}-{board.month_start:%Y-%m}.csv"
    return Response(
        "\ufeff" + write_csv(header, rows),  # the BOM makes spreadsheets read UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
