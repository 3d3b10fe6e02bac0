"""What-if on the dashboard (issue 17): a decision's knock-on effects beside the decide form,
and the what-if budget page over the efficient frontier.

The figures come from `api.routes.knockon` (the same reads as the API, so the page and
`GET /v1/periods/{code}/initiatives/{id}/knock-on` or `/optimum` never disagree). The budget
form works without JavaScript: a range and a text box, both submitted; the text box wins when
it was changed (it differs from the `shown` value the form carries), else the range.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.routes.knockon import knock_on_for, optimum_for, parse_budget
from api.web.charts import whatif_chart
from api.web.session import require_user
from api.web.views import Page, open_page
from domain.errors import CxgovError
from domain.lifecycle import UNDECIDED
from governance.principal import CX_EXEC, Principal
from governance.read_access import require_initiative_reader
from projections.knockon import budget_bounds
from projections.rows import InitiativeCard

router = APIRouter(include_in_schema=False)
User = Annotated[Principal, Depends(require_user)]  # as api.web.pages (which imports this)
Text = Annotated[str | None, Query(max_length=40)]
BudgetField = Annotated[str | None, Query(max_length=40)]
STEP = Decimal(100_000)  # the range's step: $0.1M
INLINE_MAX = 500  # ranked initiatives up to which the initiative page shows its knock-ons


def knock_on_context(page: Page, card: InitiativeCard) -> dict[str, Any]:
    """The knock-ons of approving, rejecting and deferring the initiative shown, for a CX
    executive looking at the present (none when historical: actions are disabled then).

    They re-run the cut line and the exact optimum three times over the period (60-90 ms of
    CPU at 1,000 initiatives, docs/dashboard.md): above INLINE_MAX ranked initiatives the page
    offers a link that works them out (`knock_on=1`) instead of slowing every visit."""
    if page.historical or card.status not in UNDECIDED or not page.who.has(CX_EXEC):
        return {"knock_ons": None}
    ranked = len(page.snapshot.ranking(card.period))
    if ranked > INLINE_MAX and page.request.query_params.get("knock_on") != "1":
        return {"knock_ons": None, "knock_on_link": page.url(
            f"/dashboard/initiatives/{card.id}", knock_on="1"), "ranked_count": ranked}
    try:
        found = knock_on_for(page.snapshot, card.period, card.id, ("approve", "reject", "defer"))
    except CxgovError:  # not ranked (no policy yet): the form is not offered either
        return {"knock_ons": None}
    return {"knock_ons": found}


def chosen_budget(budget: str | None, level: str | None, shown: str | None,
                  default: Decimal) -> tuple[Decimal | None, str | None]:
    """The budget the form asks for, and the text it was read from (None: the default).
    The text box wins when it differs from the value shown; else the range."""
    typed = (budget or "").strip()
    if typed and (typed != (shown or "").strip() or not level):
        return parse_budget(typed), typed
    if level:
        return parse_budget(level), None
    return default, None


@router.get("/dashboard/what-if", response_class=HTMLResponse)
def what_if(request: Request, who: User, period: Text = None, as_of: Text = None,
            budget: BudgetField = None, level: BudgetField = None,
            shown: BudgetField = None) -> HTMLResponse:
    """What the efficient frontier says at a budget: the value the exact optimum reaches if
    the pool were that much, what it funds, what it adds to and drops from the cut line."""
    page = open_page(request, who, period=period, as_of=as_of)
    try:
        require_initiative_reader(who)  # not ingest, as the home page (pages.refused)
    except CxgovError as exc:
        return page.render("missing.html", status=403, what=exc.message)
    if page.period is None:
        return page.render("empty.html")
    ledger = page.snapshot.ledger(page.period)
    assert ledger is not None  # the page's period is one of the ledgers' periods
    rows = page.snapshot.ranking(page.period)
    low, high = budget_bounds(rows, ledger)
    pool = Decimal(ledger.amount)
    error, typed, found, amount = None, None, None, None
    try:
        amount, typed = chosen_budget(budget, level, shown, min(max(pool, low), high))
        assert amount is not None
        found = optimum_for(page.snapshot, page.period, amount)
    except CxgovError as exc:
        error = exc.message
    rec = page.snapshot.recommendation(page.period, unfunded_limit=0)
    titles = {r.code: r for r in rows if r.code is not None}
    slider = amount if found is not None and amount is not None else min(max(pool, low), high)
    return page.render(
        "whatif.html", status=422 if error else 200, ledger=ledger, found=found, error=error,
        typed=typed, raw=(budget or "").strip(), rows=titles, low=low, high=high,
        slider=slider.quantize(STEP) if slider % STEP else slider, step=STEP,
        chart=whatif_chart(rec, found, low, pool, high),
        share=page.url("/dashboard/what-if", budget=str(amount)) if found else None)
