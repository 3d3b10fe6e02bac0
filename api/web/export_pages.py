"""Downloads of what a page shows (issue 17): the ranking, in the view the URL asks for
(sort, filters, search) with the decided list, as CSV or JSON, as of the position shown.

Read through the same rule as the page (`read_as`): a row the reader may not read whole is
exported as the page shows it (its place, P&L, kind and cost; no code or title)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.web import ranking_view
from api.web.pages import Position, Text, User, refused
from api.web.views import open_page
from governance.principal import Principal

router = APIRouter(include_in_schema=False)
COLUMNS = ("section", "rank", "code", "title", "pnl", "kind", "cost", "cip", "score", "status",
           "recommended", "above_cut_line", "reason", "touchpoints")


def _ranked(row: Any) -> dict[str, Any]:
    return {"section": "ranked", "rank": row.rank, "code": row.code, "title": row.title,
            "pnl": row.pnl, "kind": row.kind, "cost": str(row.cost), "cip": str(row.cip),
            "score": str(row.score), "status": row.status, "recommended": row.recommended,
            "above_cut_line": row.above_cut_line, "reason": row.reason,
            "touchpoints": list(row.touchpoints)}


def _decided(card: Any) -> dict[str, Any]:
    last = card.decisions[-1] if card.decisions else None
    return {"section": "decided", "rank": None, "code": card.code,
            "title": card.proposal.title, "pnl": card.pnl, "kind": card.kind,
            "cost": str(card.proposal.cost), "cip": None, "score": None,
            "status": card.status, "recommended": None, "above_cut_line": None,
            "reason": last.rationale if last is not None and card.status == "rejected" else None,
            "touchpoints": list(card.proposal.touchpoints)}


@router.get("/dashboard/export/ranking.csv")
def ranking_csv(request: Request, who: User, period: Text = None, as_of: Text = None,
                min_position: Position = None) -> Response:
    """The home page's ranking and decided list, in its view, as CSV."""
    return ranking_export(request, "csv", who, period, as_of, min_position)


@router.get("/dashboard/export/ranking.json")
def ranking_json(request: Request, who: User, period: Text = None, as_of: Text = None,
                 min_position: Position = None) -> Response:
    """The home page's ranking and decided list, in its view, as JSON."""
    return ranking_export(request, "json", who, period, as_of, min_position)


def ranking_export(request: Request, fmt: Literal["csv", "json"], who: Principal,
                   period: str | None, as_of: str | None,
                   min_position: int | None) -> Response:
    """The home page's ranking and decided list, in its view, as CSV or JSON."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    if (forbidden := refused(page)) is not None:
        return forbidden
    if page.period is None:
        return page.render("empty.html")
    ranking = page.snapshot.ranking(page.period)
    view = ranking_view.read_view(request.query_params)
    decided = ranking_view.decided_cards(page.snapshot.initiatives(page.period), ranking)
    rows, cards = ranking_view.apply_view(view, ranking, decided)
    records = [_ranked(r) for r in rows] + [_decided(c) for c in cards]
    position = page.snapshot.position
    name = f"ranking-{page.period}-at-{position}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"',
               "X-Cxgov-Position": str(position)}
    if fmt == "json":
        body = {"period": page.period, "position": position, "as_of": page.as_of,
                "view": view.params(), "ranking": records[:len(rows)],
                "decided": records[len(rows):]}
        return Response(json.dumps(body, indent=1), media_type="application/json",
                        headers=headers)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({**record, "touchpoints": "; ".join(record["touchpoints"])})
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
