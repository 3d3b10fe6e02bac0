"""Downloads of what a page shows (issue 17), as CSV or JSON, as of the position shown: the
ranking in the view the URL asks for (sort, filters, search) with the decided list; the
decided list alone; the ledger and its breakdowns; the scorecard; the signals inbox; the audit
timeline in its filtered view (every page of it); the plans side by side; fair shares. And, for
auditors only, the audit bundle (`api/web/audit_status.py`) as of the position the audit page
shows.

Each download reads through the same rule as its page (`read_as`, the page's role check): a
row the reader may not read whole is exported as the page shows it (a ranked row of another
P&L's undecided work: its place, P&L, kind and cost; no code or title). The position read at
travels with the file (JSON `position`, header `X-Cxgov-Position`, file name). CSV cells that
a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) are
prefixed with an apostrophe (plain numbers such as -1.5 are kept)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from api.web import audit_status, export_tables, ranking_view
from api.web.audit_timeline import Filters, TimelineFilters
from api.web.export_tables import Table
from api.web.pages import Position, Text, User, refused
from api.web.views import Page, open_page
from governance.principal import AUDITOR, Principal

router = APIRouter(include_in_schema=False)
Format = Literal["csv", "json"]
FORMATS: tuple[Format, ...] = ("csv", "json")
COLUMNS = ("section", "rank", "code", "title", "pnl", "kind", "cost", "cip", "score", "status",
           "recommended", "above_cut_line", "reason", "touchpoints")
#: what a spreadsheet reads as the start of a formula (OWASP "CSV injection")
FORMULA = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: formulas get a leading apostrophe; lists are
    joined with '; '; None is empty."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(FORMULA) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def to_csv(columns: Sequence[str], rows: list[dict[str, Any]]) -> str:
    """The rows as CSV (a header line, then one line per row, every cell `safe_cell`)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n",
                            extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(row.get(k)) for k in columns})
    return out.getvalue()


def download(page: Page, name: str, fmt: Format, table: Table) -> Response:
    """The table as a CSV or JSON attachment named for what, which period and which position."""
    position = page.snapshot.position
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", f"{name}-{page.period or 'all'}")
    headers = {"Content-Disposition": f'attachment; filename="{stem}-at-{position}.{fmt}"',
               "X-Cxgov-Position": str(position), "Cache-Control": "no-store"}
    if fmt == "json":
        body = {"period": page.period, "position": position, "as_of": page.as_of,
                **table.body}
        return Response(json.dumps(body, indent=1, default=str),
                        media_type="application/json", headers=headers)
    return Response(to_csv(table.columns, table.rows), media_type="text/csv; charset=utf-8",
                    headers=headers)


# --- the ranking (and the decided list) -----------------------------------------------------


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


def _ranking_table(request: Request, page: Page, *, decided_only: bool = False) -> Table:
    """The home page's ranking and decided list in the URL's view (or the decided list)."""
    assert page.period is not None
    ranking = page.snapshot.ranking(page.period)
    view = ranking_view.read_view(request.query_params)
    decided = ranking_view.decided_cards(page.snapshot.initiatives(page.period), ranking)
    rows, cards = ranking_view.apply_view(view, ranking, decided)
    ranked = [] if decided_only else [_ranked(r) for r in rows]
    done = [_decided(c) for c in cards]
    body = {"view": view.params(), "decided": done}
    if not decided_only:
        body = {"view": view.params(), "ranking": ranked, "decided": done}
    return Table(COLUMNS, ranked + done, body)


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


def ranking_export(request: Request, fmt: Format, who: Principal, period: str | None,
                   as_of: str | None, min_position: int | None) -> Response:
    """The home page's ranking and decided list, in its view, as CSV or JSON."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    if (forbidden := refused(page)) is not None:
        return forbidden
    if page.period is None:
        return page.render("empty.html")
    return download(page, "ranking", fmt, _ranking_table(request, page))


# --- the other pages --------------------------------------------------------------------------

Reader = Callable[[Request, Page], "Table | Response"]


def _decided_table(request: Request, page: Page) -> Table | Response:
    if (forbidden := refused(page)) is not None:
        return forbidden
    if page.period is None:
        return page.render("empty.html")
    return _ranking_table(request, page, decided_only=True)


#: download name -> (what reads its table, the page it downloads)
EXPORTS: dict[str, tuple[Reader, str]] = {
    "decided": (_decided_table, "the home page's decided list, in its view"),
    "ledger": (export_tables.ledger, "the ledger and its breakdowns"),
    "scorecard": (export_tables.scorecard, "the scorecard"),
    "signals": (export_tables.signals, "the signals inbox (show=active|all)"),
    "plans": (export_tables.plans, "the plans side by side (name, repeated)"),
    "fair-shares": (export_tables.fair_shares, "fair shares"),
}


def _endpoint(name: str, fmt: Format, reader: Reader, what: str) -> Callable[..., Response]:
    def export(request: Request, who: User, period: Text = None, as_of: Text = None,
               min_position: Position = None) -> Response:
        page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
        found = reader(request, page)
        if isinstance(found, Response):
            return found
        return download(page, name, fmt, found)

    export.__name__ = f"{name.replace('-', '_')}_{fmt}"
    export.__doc__ = f"Download {what} as {fmt.upper()}, as of the page's position."
    return export


for _name, (_reader, _what) in EXPORTS.items():
    for _fmt in FORMATS:
        router.add_api_route(f"/dashboard/export/{_name}.{_fmt}",
                             _endpoint(_name, _fmt, _reader, _what), methods=["GET"])


# --- the audit timeline (its filters validated as the page validates them) -----------------


def audit_export(request: Request, fmt: Format, who: Principal, filters: Filters, *,
                 period: str | None, as_of: str | None, min_position: int | None) -> Response:
    """The audit page's timeline in its view, every page of it, as CSV or JSON."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    found = export_tables.audit(request, page, filters)
    if isinstance(found, Response):
        return found
    return download(page, "audit", fmt, found)


@router.get("/dashboard/export/audit.csv")
def audit_csv(request: Request, who: User, filters: TimelineFilters, period: Text = None,
              as_of: Text = None, min_position: Position = None) -> Response:
    """Download the audit timeline in the page's view (show, family, initiative, actor) as
    CSV, as of the page's position."""
    return audit_export(request, "csv", who, filters, period=period, as_of=as_of,
                        min_position=min_position)


@router.get("/dashboard/export/audit.json")
def audit_json(request: Request, who: User, filters: TimelineFilters, period: Text = None,
               as_of: Text = None, min_position: Position = None) -> Response:
    """Download the audit timeline in the page's view (show, family, initiative, actor) as
    JSON, as of the page's position."""
    return audit_export(request, "json", who, filters, period=period, as_of=as_of,
                        min_position=min_position)


# --- the audit bundle -------------------------------------------------------------------------


@router.get("/dashboard/export/audit-bundle.jsonl")
def audit_bundle(request: Request, who: User, as_of: Text = None,
                 min_position: Position = None) -> Response:
    """The audit bundle `python -m auditverify --bundle` reads (what `cxgov audit export`
    writes), cut at the page's position: auditors only; PostgreSQL only (the in-memory store
    keeps no hash chain)."""
    page = open_page(request, who, as_of=as_of, min_position=min_position)
    if not who.has(AUDITOR):
        return page.render("missing.html", status=403,
                           what="The audit bundle is for auditors (the auditor role).")
    runtime = audit_status.runtime_of(request)
    if runtime is None or runtime.database_url is None:
        return page.render("missing.html", status=404, what=(
            "No audit bundle here: the in-memory store keeps no hash chain (PostgreSQL does)."))
    position = page.snapshot.position
    folder = audit_status.bundle_folder()
    try:
        path, rows = audit_status.write_bundle_upto(runtime, Path(folder.name), position)
    except BaseException:
        folder.cleanup()
        raise
    return FileResponse(path, media_type="application/x-ndjson",
                        filename=f"cxgov-audit-bundle-at-{position}.jsonl",
                        headers={"X-Cxgov-Position": str(position), "X-Cxgov-Rows": str(rows),
                                 "Cache-Control": "no-store"},
                        background=BackgroundTask(folder.cleanup))
