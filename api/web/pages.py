"""Dashboard pages (GET): executive home, initiative, scorecard, audit; all as of any position."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.web import charts, ranking_view
from api.web.audit_timeline import (
    FAMILIES,
    TimelineFilters,
    money_summary,
    read_timeline,
    readable_actor,
)
from api.web.benefit_pages import benefit_context
from api.web.money import money_context
from api.web.redecide import carry_context
from api.web.served_jobs import jobs_context
from api.web.session import require_user
from api.web.views import Page, open_page
from api.web.whatif_pages import knock_on_context
from domain.errors import CxgovError
from governance.principal import Principal
from governance.read_access import require_audit_reader, require_initiative_reader
from projections import feed
from projections.rows import InitiativeCard
from projections.snapshot import departures_of

router = APIRouter(include_in_schema=False)
User = Annotated[Principal, Depends(require_user)]
Text = Annotated[str | None, Query(max_length=40)]
Position = Annotated[int | None, Query(ge=0, le=2**62)]
PageNumber = Annotated[int, Query(alias="page", ge=1, le=100_000)]
DecidedPage = Annotated[int, Query(ge=1, le=100_000)]
RANKING_PAGE = 50  # ranking rows (and decided initiatives) per page of the home page
T = TypeVar("T")
DECISION_TOPICS = ("Initiative.Approved", "Initiative.Rejected", "Initiative.Deferred",
                   "Initiative.FirstApprovalRecorded", "Initiative.Cancelled",
                   "Initiative.Withdrawn", "ScoringPolicy.",
                   # re-decisions (issue 14): carry-overs, new target versions
                   "Initiative.CarriedOver", "CustomerSuccessMetric.Retargeted",
                   # money over time (issue 14): descopes and tranche releases
                   "Initiative.Descoped", "Initiative.Tranche",
                   # funding rounds (issue 16; decision 200): opened, and changed by hand
                   "FundingRound.Opened", "FundingRound.Rescheduled",
                   # the plan of record (issue 16, part 2): adopting one is an audited decision
                   "PlanOfRecord.Adopted")


@router.get("/")
def root() -> RedirectResponse:
    """The server's front door is the dashboard."""
    return RedirectResponse("/dashboard", status_code=307)


def refused(page: Page) -> HTMLResponse | None:
    """The 403 page for callers who read no initiatives (ingest service accounts)."""
    try:
        require_initiative_reader(page.who)
    except CxgovError as exc:
        return page.render("missing.html", status=403, what=exc.message)
    return None


def decide_context(page: Page, cards: list[InitiativeCard] | None = None) -> dict[str, Any]:
    """What the decision forms need: the four-eyes threshold, and who gave the first approval
    of each initiative awaiting a second one (they are not offered the second). `cards`: the
    period's initiatives when the caller has them already."""
    policy = page.snapshot.policy()
    if cards is None and page.period:
        cards = page.snapshot.initiatives(page.period)
    pending = {c.id: c.approvals for c in cards or []
               if c.status == "pending_second_approval"}
    return {"four_eyes": policy.terms.four_eyes_threshold if policy else None,
            "first_approvals": pending}


def paged(rows: list[T], number: int, size: int) -> tuple[list[T], dict[str, int]]:
    """One page of `rows` (numbered from 1; past the end: the last page) and where it is."""
    pages = max(1, -(-len(rows) // size))
    number = min(number, pages)
    first = (number - 1) * size
    return rows[first:first + size], {"number": number, "pages": pages, "first": first + 1,
                                      "last": min(first + size, len(rows)),
                                      "total": len(rows)}


@router.get("/dashboard", response_class=HTMLResponse)
def home(request: Request, who: User, period: Text = None, as_of: Text = None,
         min_position: Position = None, done: Text = None,
         page_number: PageNumber = 1, decided_page: DecidedPage = 1) -> HTMLResponse:
    """CX executive home: pool gauge, ranking with the cut line, frontier, departures. The
    ranking and the decided list show RANKING_PAGE rows at a time (`page`, `decided_page` in
    the URL with the view), so the page stays small at thousands of initiatives."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    if (forbidden := refused(page)) is not None:
        return forbidden
    if page.period is None:
        return page.render("empty.html")
    ledger = page.snapshot.ledger(page.period)
    assert ledger is not None  # the page's period is one of the ledgers' periods
    rec = page.snapshot.recommendation(page.period, unfunded_limit=0)  # totals and frontier
    ranking = page.snapshot.ranking(page.period)
    cards = page.snapshot.initiatives(page.period)
    # Ranked above the cut line yet neither funded nor recommended (skipped: does not fit,
    # needs a dependency, no impact): the cut line's label counts them.
    skipped = [r for r in ranking if r.cut_line_rank is not None and r.rank < r.cut_line_rank
               and not r.above_cut_line]
    # the ranking's view (sort, filters, search: in the URL) and the decided list (issue 17)
    view = ranking_view.read_view(request.query_params)
    decided = ranking_view.decided_cards(cards, ranking)
    shown, decided_shown = ranking_view.apply_view(view, ranking, decided)
    rows, rows_at = paged(shown, page_number, RANKING_PAGE)
    decided_rows, decided_at = paged(decided_shown, decided_page, RANKING_PAGE)
    return page.render("home.html", ledger=ledger, ranking=rows, skipped=skipped,
                       view=view, sorts=ranking_view.SORTS, ranked_total=len(ranking),
                       shown_total=len(shown), rows_at=rows_at,
                       decided=decided_rows, decided_at=decided_at,
                       decided_shown=len(decided_shown),
                       decided_total=len(decided),
                       cut_after=ranking_view.cut_line_after(view, shown),
                       rec=rec, gauge=charts.pool_gauge(ledger), **decide_context(page, cards),
                       frontier=charts.frontier_chart(rec),
                       departures=departures_of(cards)[::-1], done=done,
                       errors=request.query_params.get("error"),
                       error_code=request.query_params.get("code"))


@router.get("/dashboard/initiatives/{initiative_id}", response_class=HTMLResponse)
def initiative(request: Request, initiative_id: UUID, who: User, period: Text = None,
               as_of: Text = None, min_position: Position = None,
               done: Text = None) -> HTMLResponse:
    """One initiative: the score breakdown anyone can recompute, and its history."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    if (forbidden := refused(page)) is not None:
        return forbidden
    card = page.snapshot.initiative(str(initiative_id))
    if card is None:
        return page.render("missing.html", status=404, what=f"initiative {initiative_id}")
    page.period = card.period
    ranked = next((r for r in page.snapshot.ranking(card.period) if r.code == card.code), None)
    metrics = {m.code: m for m in page.snapshot.metrics()}
    policy = page.snapshot.policy()
    terms = policy.terms if policy else None
    upto = page.snapshot.position if page.historical else None
    history = page.services.models.audit_events(aggregate_id=str(initiative_id), limit=500,
                                                upto=upto)
    return page.render("initiative.html", card=card, ranked=ranked, metrics=metrics,
                       terms=terms, history=history, done=done,
                       **decide_context(page, [card]),  # its one decision form
                       **carry_context(page, card), **money_context(page, card),
                       **benefit_context(page, card), **jobs_context(page, card),
                       **knock_on_context(page, card))  # issue 17: before deciding


@router.get("/dashboard/scorecard", response_class=HTMLResponse)
def scorecard(request: Request, who: User, period: Text = None,
              as_of: Text = None, min_position: Position = None,
              done: Text = None) -> HTMLResponse:
    """One card per customer success metric, with its target history (and, for CX
    executives, the retarget form)."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    cards = page.snapshot.scorecard(page.period) if page.period else []
    return page.render("scorecard.html", cards=cards, done=done,
                       charts={card.metric: charts.scorecard_chart(card) for card in cards})


@router.get("/dashboard/you-said-we-did", response_class=HTMLResponse)
def you_said_we_did(request: Request, who: User, period: Text = None,
                    as_of: Text = None) -> HTMLResponse:
    """What customers said, the work delivered for it, what changed since (not ingest)."""
    page = open_page(request, who, period=period, as_of=as_of)
    if (forbidden := refused(page)) is not None:
        return forbidden
    stories = page.snapshot.you_said_we_did()
    told: dict[str | None, dict[str, Any]] = {}
    for story in sorted((s for s in stories if s.deliveries),
                        key=lambda s: (s.scenario or "~", s.metric)):
        told.setdefault(story.scenario, {"code": story.scenario, "name": story.scenario_name,
                                         "stories": []})["stories"].append(story)
    return page.render("you_said_we_did.html", told=list(told.values()),
                       scenarios=feed.scenarios(stories),
                       waiting=[s for s in stories if not s.deliveries])


@router.get("/dashboard/audit", response_class=HTMLResponse)
def audit(request: Request, who: User, filters: TimelineFilters, period: Text = None,
          as_of: Text = None, before: Position = None, after: Position = None) -> HTMLResponse:
    """Decision timeline with the as-of control; verification status of the store. The
    timeline is one page (TIMELINE_PAGE rows, newest first; `before=`/`after=` positions page
    it) filtered in the view's query by kind, initiative code, actor and event family (an
    empty field, as the filter form sends it, is no filter)."""
    page = open_page(request, who, period=period, as_of=as_of)
    try:
        require_audit_reader(who)
    except CxgovError as exc:
        return page.render("missing.html", status=403, what=exc.message)
    show = filters.show
    timeline = read_timeline(page, filters, before=before, after=after,
                             topics=DECISION_TOPICS if show == "decisions" else ())
    runtime = getattr(request.app.state, "runtime", None)
    on_postgres = runtime is not None and runtime.database_url is not None
    return page.render("audit.html", timeline=timeline, events=timeline.events, show=show,
                       filters=filters, families=FAMILIES, on_postgres=on_postgres,
                       readable_actor=readable_actor, money_summary=money_summary)
