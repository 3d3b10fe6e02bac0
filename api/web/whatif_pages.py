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
from markupsafe import Markup, escape

from api.routes.knockon import knock_on_for, optimum_for, parse_budget
from api.web.session import require_user
from api.web.views import Page, millions, number, open_page
from domain.errors import CxgovError
from domain.lifecycle import UNDECIDED
from governance.principal import CX_EXEC, Principal
from governance.read_access import require_initiative_reader
from projections.knockon import BudgetOptimum, budget_bounds
from projections.rows import InitiativeCard, Recommendation

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


def _d(value: Any) -> Decimal:
    return Decimal(str(value))


def _f(value: Decimal) -> str:
    return f"{float(value):.1f}"


def _ticks(top: Decimal, count: int = 4) -> list[Decimal]:
    """Round scale marks from 0 to about `top`."""
    if top <= 0:
        return [Decimal(0)]
    raw = top / count
    magnitude = Decimal(10) ** (len(str(int(raw))) - 1) if raw >= 1 else Decimal("0.1")
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [step * k for k in range(int(top / step) + 1)]


def whatif_chart(rec: Recommendation | None, found: BudgetOptimum | None, committed: Decimal,
                 pool: Decimal, high: Decimal) -> Markup:
    """The efficient frontier against the pool level, the pool as it is and the chosen budget
    marked, with labelled scales ($M across, CIP up)."""
    points = [(committed + _d(p.budget), _d(p.value)) for p in (rec.frontier if rec else [])]
    chosen = None
    if found is not None and found.optimum is not None:
        chosen = (_d(found.budget), _d(found.optimum.total_value))
    values = [v for _, v in points] + ([chosen[1]] if chosen else [])
    ymax = max([*values, Decimal(1)]) * Decimal("1.12")  # headroom for the pool's label
    xmin, xmax = committed, max(high, pool, committed + 1)
    w, h, left, top = Decimal(540), Decimal(220), Decimal(70), Decimal(16)

    def x(amount: Decimal) -> str:
        return _f(left + w * (amount - xmin) / (xmax - xmin))

    def y(value: Decimal) -> str:
        return _f(top + h - h * value / ymax)

    parts = [f'<line class="axis" x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}"/>',
             f'<line class="axis" x1="{left}" y1="{top}" x2="{left}" y2="{top + h}"/>']
    span = xmax - xmin
    for tick in _ticks(span):
        at = xmin + tick
        parts.append(f'<line class="tick" x1="{x(at)}" y1="{top + h}" x2="{x(at)}" '
                     f'y2="{top + h + 5}"/><text x="{x(at)}" y="{top + h + 18}" '
                     f'text-anchor="middle">{escape(millions(at))}</text>')
    for tick in _ticks(ymax)[1:]:  # 0 is the axis itself (its label would meet the $ scale)
        parts.append(f'<line class="grid-line" x1="{left}" y1="{y(tick)}" x2="{left + w}" '
                     f'y2="{y(tick)}"/><text x="{left - 6}" y="{_f(_d(y(tick)) + 4)}" '
                     f'text-anchor="end">{number(tick, 0)}</text>')
    parts.append(f'<text x="{left + w / 2}" y="{top + h + 36}" text-anchor="middle">pool '
                 f'(committed {escape(millions(committed))} plus what the optimum spends)'
                 f'</text><text x="14" y="{top + h / 2}" transform="rotate(-90 14 '
                 f'{top + h / 2})" text-anchor="middle">value added (CIP)</text>')
    line = " ".join(f"{x(a)},{y(v)}" for a, v in sorted(points))
    parts.append(f'<polyline class="f-line" points="{line}"/>')
    parts += [f'<circle class="f-point" cx="{x(a)}" cy="{y(v)}" r="3"><title>pool '
              f'{escape(millions(a))}: {number(v)} CIP</title></circle>' for a, v in points]
    parts.append(f'<line class="w-pool" x1="{x(pool)}" y1="{top}" x2="{x(pool)}" '
                 f'y2="{top + h}"/><text class="w-label" x="{x(pool)}" y="{top - 4}" '
                 f'text-anchor="middle">pool now {escape(millions(pool))}</text>')
    title = "Efficient frontier: value the exact optimum adds at each pool level"
    if chosen is not None:
        title += f"; at {millions(chosen[0])}: {number(chosen[1])} CIP"
        parts.append(f'<line class="w-chosen" x1="{x(chosen[0])}" y1="{top}" '
                     f'x2="{x(chosen[0])}" y2="{top + h}"/><circle class="w-chosen-dot" '
                     f'cx="{x(chosen[0])}" cy="{y(chosen[1])}" r="7"><title>chosen '
                     f'{escape(millions(chosen[0]))}: {number(chosen[1])} CIP</title></circle>')
    return Markup(f'<svg class="chart whatif" viewBox="0 0 640 290" role="img" '
                  f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
                  f'{"".join(parts)}</svg>')


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
