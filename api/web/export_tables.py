"""What each page's download holds (issue 17; `api/web/export_pages.py` serves them): the same
reads, role checks and filters as the page, as CSV columns and rows and a JSON body.

Each reader takes the request and the page (`open_page`: who, period, as-of position) and
returns a `Table`, or the page's refusal (403, 404, an empty period) as the page would show it.
Amounts stay decimal text, exactly as the read models hold them (never floats)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import Response

from api.routes.plans import require_plan_reader
from api.routes.signals import for_role
from api.web import plan_pages
from api.web.audit_timeline import Filters, read_whole_timeline
from api.web.loop_pages import loop_view
from api.web.money import ledger_rows
from api.web.pages import DECISION_TOPICS, refused
from api.web.views import Page
from domain.errors import CxgovError
from domain.plans import COMPARE_AT_MOST
from governance.read_access import require_audit_reader
from projections.plans import compare, find_plans, plans_list
from projections.query import AsOfOutOfRange

NAME_AT_MOST = 200  # characters of a plan name asked for (the page's names are shorter)


@dataclass
class Table:
    """One download: its CSV columns and rows, and the JSON body's own keys."""

    columns: Sequence[str]
    rows: list[dict[str, Any]]
    body: dict[str, Any] = field(default_factory=dict)


def _table(columns: tuple[str, ...], rows: list[dict[str, Any]], **body: Any) -> Table:
    return Table(columns, rows, body)


def _choice(request: Request, key: str, allowed: tuple[str, ...]) -> str:
    """A query parameter that must be one of `allowed` (the first when absent); 422 else."""
    value = request.query_params.get(key, allowed[0])
    if value not in allowed:
        raise HTTPException(422, f"{key} must be one of {', '.join(allowed)}")
    return value


# --- the ledger -------------------------------------------------------------------------------

LEDGER_COLUMNS = ("table", "key", "amount", "committed", "spent", "released")
FIGURES = ("amount", "net_committed", "spent", "unspent", "released", "available",
           "pending_second_approval", "gated", "requested")


def ledger(request: Request, page: Page) -> Table | Response:
    """The pool's figures, then one row per P&L, kind, touchpoint and function (committed,
    spent, released), as the ledger page shows them."""
    if page.period is None:
        return page.render("empty.html")
    found = page.snapshot.ledger(page.period)
    if found is None:
        return page.render("missing.html", status=404, what=f"period {page.period}")
    figures = [{"table": "figures", "key": k, "amount": getattr(found, k)} for k in FIGURES]
    tables = ledger_rows(found)
    rows = figures + [{"table": name, **row} for name, items in tables.items()
                      for row in items]
    return _table(LEDGER_COLUMNS, rows, currency=found.currency,
                  figures={k: getattr(found, k) for k in FIGURES},
                  over_plan=list(found.over_plan), breakdowns=tables)


# --- the scorecard ----------------------------------------------------------------------------

SCORECARD_COLUMNS = ("metric", "customer_phrasing", "pnl", "scenario", "unit", "direction",
                     "baseline", "current", "target", "target_date", "progress",
                     "expected_progress", "status", "trend_word", "trend_basis", "readings",
                     "sample_size", "observed_at", "overclaimed", "claimed_gap_share",
                     "initiatives")


def scorecard(request: Request, page: Page) -> Table | Response:
    """One row per customer success metric (the JSON has each card whole: trend, intervals,
    target history)."""
    cards = page.snapshot.scorecard(page.period) if page.period else []
    rows = [{**{k: getattr(c, k, None) for k in SCORECARD_COLUMNS},
             "initiatives": [i.code for i in c.initiatives]} for c in cards]
    return _table(SCORECARD_COLUMNS, rows,
                  cards=[c.model_dump(mode="json") for c in cards])


# --- the signals inbox ------------------------------------------------------------------------

SIGNAL_COLUMNS = ("key", "kind", "severity", "state", "since", "period", "role", "title",
                  "metric", "initiatives", "detail", "notes")


def signals(request: Request, page: Page) -> Table | Response:
    """The inbox's signals in its order (the reader's roles' first), `show=active` (open and
    acknowledged, the default) or `show=all`; the JSON adds loop speed."""
    if (forbidden := refused(page)) is not None:
        return forbidden
    show = _choice(request, "show", ("active", "all"))
    view = loop_view(request, page.as_of)
    rows = [s for s in view.signals(period=page.period)
            if show == "all" or s.state in ("open", "acknowledged")]
    ordered = for_role(page.who, rows)
    flat = [{"key": s.key, "kind": s.kind, "severity": s.severity, "state": s.state,
             "since": s.since, "period": s.period, "role": s.role, "title": s.title,
             "metric": s.evidence.metric,
             "initiatives": [i.code for i in s.evidence.initiatives],
             "detail": s.evidence.detail,
             "notes": [f"{n.act} by {n.actor} at {n.at}" + (f": {n.note}" if n.note else "")
                       for n in s.notes]} for s in ordered]
    speed = view.loop_speed(page.period)
    return _table(SIGNAL_COLUMNS, flat, show=show,
                  signals=[s.model_dump(mode="json") for s in ordered],
                  loop_speed=[r.model_dump(mode="json") for r in speed])


# --- the audit timeline -----------------------------------------------------------------------

AUDIT_COLUMNS = ("position", "at", "topic", "aggregate_id", "aggregate_version", "actor",
                 "summary", "rationale", "initiative")


def audit(request: Request, page: Page, filters: Filters) -> Table | Response:
    """The audit page's timeline in its view (`show`, `family`, `initiative`, `actor`): every
    row of every page of it, oldest first, up to the page's position; auditors and CX
    executives only, as the page. `initiative`: the code of the row's initiative."""
    try:
        require_audit_reader(page.who)
    except CxgovError as exc:
        return page.render("missing.html", status=403, what=exc.message)
    timeline = read_whole_timeline(
        page, filters, topics=DECISION_TOPICS if filters.show == "decisions" else ())
    events = timeline.events
    rows = [{"position": e.position, "at": e.at, "topic": e.topic.removeprefix("cxgov."),
             "aggregate_id": e.aggregate_id, "aggregate_version": e.aggregate_version,
             "actor": e.actor, "summary": e.summary,
             "rationale": (e.details.get("decision") or {}).get("rationale")
             if isinstance(e.details.get("decision"), dict) else None,
             "initiative": timeline.codes.get(e.aggregate_id)} for e in events]
    return _table(AUDIT_COLUMNS, rows, show=filters.show,
                  filters={"show": filters.show, **{k: v for k, v in filters.params().items()
                                                     if k != "show" and v is not None}},
                  unknown_initiative=timeline.unknown,
                  events=[e.model_dump(mode="json") for e in events])


# --- the plans side by side -------------------------------------------------------------------

PLAN_COLUMNS = ("section", "plan", "key", "budget", "cost", "headroom", "value", "cost_share",
                "value_share", "initiatives", "policy_version", "forced_in", "forced_out",
                "adopted", "funds")


def plans(request: Request, page: Page) -> Table | Response:
    """The plans the page compares (`name`, repeated; default: the plan of record and the
    newest others): one row per plan, then its share of cost and value per P&L and kind."""
    try:
        require_plan_reader(page.who)
    except CxgovError as exc:
        return page.render("missing.html", status=403, what=exc.message)
    if page.period is None:
        return page.render("empty.html")
    names = request.query_params.getlist("name")
    if len(names) > COMPARE_AT_MOST or any(len(n) > NAME_AT_MOST for n in names):
        raise HTTPException(422, f"name: at most {COMPARE_AT_MOST} plan names")
    models = page.services.models
    try:
        state = models.core_at(as_of=page.as_of)
    except AsOfOutOfRange:
        state = models.core_at()
    if page.period not in state.periods:
        return page.render("missing.html", status=404, what=f"period {page.period}")
    listed = plans_list(state, page.period)
    chosen, missing = find_plans(state, page.period, names or plan_pages._default(listed))
    side = compare(state, page.period, chosen) if chosen else None
    rows: list[dict[str, Any]] = []
    for p in side.plans if side else []:
        rows.append({"section": "plan", "plan": p.name, "budget": p.budget, "cost": p.cost,
                     "headroom": p.headroom, "value": p.value, "initiatives": len(p.items),
                     "policy_version": p.policy_version,
                     "forced_in": [f.code for f in p.forced_in],
                     "forced_out": [f.code for f in p.forced_out], "adopted": p.adopted,
                     "funds": [i.code for i in p.items]})
        for group in ("by_pnl", "by_kind"):
            rows.extend({"section": group, "plan": p.name, "key": s.key, "cost": s.cost,
                         "value": s.value, "cost_share": s.cost_share,
                         "value_share": s.value_share, "initiatives": s.initiatives}
                        for s in getattr(p, group))
    return _table(PLAN_COLUMNS, rows, missing=missing,
                  plan_of_record=listed.plan_of_record,
                  comparison=side.model_dump(mode="json") if side else None)


# --- fair shares ------------------------------------------------------------------------------

FAIR_COLUMNS = ("rule", "pnl", "entitlement", "spend", "spend_share", "value", "value_share",
                "paid", "total_cost", "total_value", "unspent", "value_given_up")


def fair_shares(request: Request, page: Page) -> Table | Response:
    """One row per plan and P&L: entitlement, spend and value (and their shares), what its
    budget paid, with the plan's totals."""
    if (forbidden := refused(page)) is not None:
        return forbidden
    if page.period is None:
        return page.render("empty.html")
    found = page.snapshot.fair_shares(page.period)
    if found is None:
        return page.render("missing.html", status=404, what=f"period {page.period}")
    rows = [{"rule": plan.rule, **share.model_dump(mode="json"),
             "total_cost": plan.total_cost, "total_value": plan.total_value,
             "unspent": plan.unspent, "value_given_up": plan.value_given_up}
            for plan in found.plans for share in plan.by_pnl]
    return _table(FAIR_COLUMNS, rows, fair_shares=found.model_dump(mode="json"))
