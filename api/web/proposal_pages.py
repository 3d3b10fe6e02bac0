"""Proposed weights, previewed and adopted from the dashboard (issue 15, parts 4 and 5; decision
160): the weights the key drivers or the job map propose, the period's ranking under them
beside the ranking in force (who moves up or down, who crosses the cut line), nothing written,
with the use case of `POST /v1/scoring-policy/preview` and its access rule (CX executives);
and, separately, a form that adopts them as the next policy version (`PUT /v1/scoring-policy`'s
command: the terms in force with these weights, a rationale, audited and versioned). A refusal
re-renders the preview at the problem's status with the message in plain words, nothing
written; done, a redirect (303) to the policy page with 'Recorded — ...'."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import services
from api.errors import status_for
from api.web.csrf import PostUser
from api.web.pages import Text, User
from api.web.views import open_page
from domain.errors import CxgovError, InvalidInput
from domain.policy import PolicyTerms
from governance.principal import Principal
from governance.read_access import require_policy_previewer
from projections.drivers import MOST_LAG, driver_spec, drivers, mapped_drivers
from projections.jobs import job_map
from projections.rows import RankingRow

router = APIRouter(include_in_schema=False)
Source = Annotated[str, Query(pattern="^(drivers|jobs)$")]
Code = Annotated[str | None, Query(max_length=40)]
Codes = Annotated[str | None, Query(max_length=400)]
Lag = Annotated[int, Query(ge=0, le=MOST_LAG)]
Short = Annotated[str, Form(max_length=400)]
SOURCES = {"drivers": "the key drivers", "jobs": "the job map's opportunity scores"}


def proposed(
    request: Request, source: str, metric: str | None, names: str | None, lag: int
) -> tuple[dict[str, int], str]:
    """The weights a source proposes now, and what proposes them ({} when none)."""
    state = services(request).models.core_at()
    if source == "jobs":
        return dict(job_map(state).proposed_weights), SOURCES["jobs"]
    chosen = (metric or "").strip() or next(
        (c for c in sorted(state.metrics) if mapped_drivers(state, c)), None
    )
    if chosen is None or chosen not in state.metrics:
        return {}, f"the key drivers of {chosen or 'no metric'}"
    wanted = [n.strip() for n in (names or "").split(",") if n.strip()] or None
    if any(_code(n) not in state.metrics for n in wanted or []):
        return {}, f"the key drivers of {chosen}"
    found = drivers(state, chosen, names=wanted, lag=lag)
    return (dict(found.proposed_weights) if found else {}), f"the key drivers of {chosen}"


def _code(name: str) -> str | None:
    """A driver's metric code as named (`CODE` or `CODE@k`); None when the lead is bad."""
    try:
        return driver_spec(name, 0)[0]
    except InvalidInput:
        return None


def as_text(weights: dict[str, int]) -> str:
    """Weights as the hidden field carries them: `M1=45,M2=55` (sorted)."""
    return ",".join(f"{k}={v}" for k, v in sorted(weights.items()))


def compared(current: list[RankingRow], draft: list[RankingRow]) -> list[dict[str, Any]]:
    """The draft ranking with each row's move against the current one (like a diff)."""
    before = {row.id or row.code: row for row in current}
    rows = []
    for row in draft:
        old = before.get(row.id or row.code)
        moved = (old.rank - row.rank) if old is not None else None
        crossing = (
            "new above the cut line"
            if row.above_cut_line and old is not None and not old.above_cut_line
            else "drops below the cut line"
            if old is not None and old.above_cut_line and not row.above_cut_line
            else ""
        )
        word = (
            "new"
            if moved is None
            else f"up {moved}"
            if moved > 0
            else f"down {-moved}"
            if moved < 0
            else "same"
        )
        rows.append({"row": row, "old": old, "moved": moved, "word": word, "crossing": crossing})
    return rows


def proposal_page(
    request: Request,
    who: Principal,
    *,
    source: str,
    metric: str | None,
    names: str | None,
    lag: int,
    period: str | None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """The preview: current ranking beside the ranking under the proposed weights."""
    page = open_page(request, who, period=period, strict_period=False)
    try:
        require_policy_previewer(who)
    except CxgovError as exc:
        return page.render("missing.html", status=403, what=exc.message)
    weights, origin = proposed(request, source, metric, names, lag)
    models = page.services.models
    current = models.core_at().policy
    in_force = page.snapshot.policy()
    rows: list[dict[str, Any]] = []
    problem = None
    if weights and page.period is not None:
        terms = (
            replace(current, weights=dict(weights))
            if current is not None
            else PolicyTerms(weights=dict(weights))
        )
        try:
            _, draft = models.preview_ranking(page.period, terms.check())
            _, now = (
                models.preview_ranking(page.period, current) if current is not None else (0, [])
            )
            rows = compared(now or [], draft or [])
        except CxgovError as exc:
            problem = exc.message
    back = (
        f"/dashboard/drivers?{urlencode(_query(metric, names, lag))}"
        if source == "drivers"
        else "/dashboard/jobs"
    )
    return page.render(
        "proposal.html",
        status=status,
        source=source,
        origin=origin,
        weights=weights,
        weights_text=as_text(weights),
        current=current,
        version=in_force.version if in_force is not None else None,
        rows=rows,
        problem=problem,
        metric=metric or "",
        names=names or "",
        lag=lag,
        back=back,
        moved=sum(1 for r in rows if r["word"] != "same"),
        **extra,
    )


def _query(metric: str | None, names: str | None, lag: int) -> dict[str, Any]:
    return {k: v for k, v in {"metric": metric, "names": names, "lag": lag}.items() if v}


def preview_link(
    source: str,
    *,
    period: str | None = None,
    metric: str | None = None,
    names: str | None = None,
    lag: int = 0,
) -> str:
    """The address of the preview (the drivers page and the job map link to it)."""
    query = {
        "source": source,
        **({"period": period} if period else {}),
        **_query(metric, names, lag),
    }
    return f"/dashboard/policy/proposal?{urlencode(query)}"


@router.get("/dashboard/policy/proposal", response_class=HTMLResponse)
def preview(
    request: Request,
    who: User,
    source: Source,
    metric: Code = None,
    names: Codes = None,
    lag: Lag = 0,
    period: Text = None,
) -> HTMLResponse:
    """The period's ranking under the proposed weights beside the one in force (CX
    executive); nothing is written."""
    return proposal_page(
        request, who, source=source, metric=metric, names=names, lag=lag, period=period
    )


@router.post("/dashboard/policy/proposal")
def adopt(
    request: Request,
    who: PostUser,
    source: Annotated[str, Form(pattern="^(drivers|jobs)$")],
    weights: Short,
    metric: Short = "",
    names: Short = "",
    lag: Annotated[int, Form(ge=0, le=MOST_LAG)] = 0,
    period: Annotated[str, Form(max_length=40)] = "",
    rationale: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Adopt the proposed weights as the next policy version (CX executive): the terms in
    force with these weights. Refused, nothing written, when the proposal has changed since
    the preview (the weights shown are the weights adopted)."""
    try:
        found, _ = proposed(request, source, metric or None, names or None, lag)
        if not found:
            raise InvalidInput("there are no proposed weights to adopt", field="weights")
        if as_text(found) != weights:
            raise InvalidInput(
                "the proposed weights have changed since the preview: look at "
                "the new preview before adopting",
                field="weights",
            )
        gov = services(request).gov
        _, terms = gov.policy_terms()
        result = gov.adopt_policy(who, terms=replace(terms, weights=found), rationale=rationale)
    except CxgovError as exc:
        return proposal_page(
            request,
            who,
            source=source,
            metric=metric or None,
            names=names or None,
            lag=lag,
            period=period or None,
            status=status_for(exc.code),
            form_error={
                "message": exc.message,
                "code": exc.code,
                "field": exc.details.get("field") or "weights",
            },
            kept_rationale=rationale,
        )
    kept = {
        k: v
        for k, v in {
            "period": period,
            "min_position": result.position,
            "done": "new version with proposed weights",
        }.items()
        if v
    }
    return RedirectResponse(f"/dashboard/policy?{urlencode(kept)}", status_code=303)
