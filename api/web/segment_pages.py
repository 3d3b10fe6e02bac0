"""Dashboard drill-down of a scorecard card by segment (issue 15, part 7): one metric's
current value, interval and tested trend per P&L, cohort, channel or region, beside the
whole; as of any position, like every page. Segments with too few responses say so."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from api.schemas import CODE_PATTERN
from api.web.pages import Text, User
from api.web.views import open_page
from projections.query import AsOfOutOfRange
from projections.segments import metric_segments

router = APIRouter(include_in_schema=False)
MetricCode = Annotated[str, Path(pattern=CODE_PATTERN)]
By = Annotated[Literal["pnl", "cohort", "channel", "region"] | None, Query()]
NAMES = {"pnl": "P&L", "cohort": "Cohort", "channel": "Channel", "region": "Region"}


@router.get("/dashboard/scorecard/{code}/segments", response_class=HTMLResponse)
def segments_page(request: Request, code: MetricCode, who: User, by: By = None,
                  period: Text = None, as_of: Text = None) -> HTMLResponse:
    """Metric `code` by one dimension (default the first its readings carry)."""
    page = open_page(request, who, period=period, as_of=as_of)
    models = page.services.models
    try:
        state = models.core_at(as_of=page.as_of)
    except AsOfOutOfRange:
        state = models.core_at()
    found = metric_segments(state, code, by)
    if found is None:
        return page.render("missing.html", status=404, what=f"metric {code}")
    return page.render("scorecard_segments.html", found=found, names=NAMES)
