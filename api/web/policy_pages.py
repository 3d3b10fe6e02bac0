"""Dashboard page of the scoring policy (issue 16): the version in force as of any position,
its weights and guardrails, how the period's recommendation stands against each guardrail,
and, for CX executives, a form that adopts the next version with other guardrails (the API's
command: `PUT /v1/scoring-policy` keeps the other terms the same way). A refusal re-renders
the page at the problem's status with the message by its row and the input kept, nothing
written; done, a redirect (303) with min_position and 'Recorded — ...'."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import services
from api.errors import status_for
from api.web.amounts import money_amount, share
from api.web.csrf import PostUser
from api.web.pages import Position, Text, User
from api.web.views import open_page
from domain.errors import CxgovError, InvalidInput
from domain.policy import GUARDRAIL_DIMENSIONS, MAX_GUARDRAILS, Guardrail
from governance.principal import Principal

router = APIRouter(include_in_schema=False)
Field = Annotated[list[str], Form(max_length=MAX_GUARDRAILS)]
ReasonText = Annotated[str, Form(max_length=2000)]
DIMENSIONS = {"kind": "Initiative kind", "pnl": "P&L (CX: cross-P&L work)",
              "touchpoint": "Touchpoint", "functional_area": "Functional area"}
UNITS = {"share": "% of the pool", "amount": "amount"}
assert set(DIMENSIONS) == set(GUARDRAIL_DIMENSIONS)


def _bound(text: str, unit: str, *, row: int, which: str) -> dict[str, Decimal]:
    """A row's minimum or maximum as the Guardrail's keyword (min_share=..., ...): in the
    share unit "25" and "25%" both mean a quarter of the pool; amounts as people type them."""
    text = text.strip()
    if not text:
        return {}
    if unit == "share":
        value = share(text if text.endswith("%") else f"{text}%")
    else:
        value = money_amount(text)
    if value is None:
        raise InvalidInput(f"guardrail {row}: the {which} {text!r} is not "
                           f"{'a percentage' if unit == 'share' else 'an amount'}",
                           field=f"guardrails.{row}")
    return {f"{'min' if which == 'minimum' else 'max'}_{unit}": value}


def _form_row(g: Any) -> dict[str, str]:
    """A guardrail of the policy row as the form shows it (shares as percentages)."""
    row = {"dimension": g.dimension, "value": g.value}
    for which, key in (("minimum", "min"), ("maximum", "max")):
        shared, amount = getattr(g, f"{key}_share"), getattr(g, f"{key}_amount")
        row[which] = (f"{(Decimal(shared) * 100).normalize():f}" if shared is not None
                      else (f"{Decimal(amount):f}" if amount is not None else ""))
        row[f"{which}_unit"] = "amount" if amount is not None else "share"
    return row


def guardrails_of(form: dict[str, list[str]]) -> tuple[Guardrail, ...]:
    """The form's rows as guardrails; a row without a value is skipped."""
    found = []
    for row in range(MAX_GUARDRAILS):
        def cell(name: str, row: int = row) -> str:
            values = form.get(name, [])
            return values[row] if row < len(values) else ""

        value = cell("value").strip()
        if not value:
            continue
        units = {which: cell(f"{which}_unit") or "share" for which in ("minimum", "maximum")}
        if any(u not in UNITS for u in units.values()):
            raise InvalidInput(f"guardrail {row + 1}: unit must be one of share, amount",
                               field=f"guardrails.{row + 1}")
        bounds = {**_bound(cell("minimum"), units["minimum"], row=row + 1, which="minimum"),
                  **_bound(cell("maximum"), units["maximum"], row=row + 1, which="maximum")}
        found.append(Guardrail(cell("dimension"), value, **bounds))
    return tuple(found)


def policy_page(request: Request, who: Principal, *, period: str | None, as_of: str | None,
                min_position: int | None = None, status: int = 200,
                **extra: Any) -> HTMLResponse:
    """The policy in force (as of `as_of`) and the period's guardrail status."""
    page = open_page(request, who, period=period, as_of=as_of, min_position=min_position)
    policy = page.snapshot.policy()
    rec = None
    if policy is not None and page.period is not None and policy.terms.guardrails:
        try:
            rec = page.snapshot.recommendation(page.period)
        except CxgovError:  # a reader the recommendation is not for: the terms only
            rec = None
    rows = [_form_row(g) for g in policy.terms.guardrails] if policy else []
    return page.render("policy.html", status=status, policy=policy, rec=rec,
                       dimensions=DIMENSIONS, units=UNITS, max_rows=MAX_GUARDRAILS,
                       rows=extra.pop("rows", rows), **extra)


@router.get("/dashboard/policy", response_class=HTMLResponse)
def policy(request: Request, who: User, period: Text = None, as_of: Text = None,
           min_position: Position = None, done: Text = None) -> HTMLResponse:
    """The scoring policy: version, weights, guardrails and how the period stands."""
    return policy_page(request, who, period=period, as_of=as_of, min_position=min_position,
                       done=done)


def _kept(form: dict[str, list[str]]) -> list[dict[str, str]]:
    rows = []
    for row in range(MAX_GUARDRAILS):
        rows.append({name: (form.get(name, []) + [""] * MAX_GUARDRAILS)[row]
                     for name in ("dimension", "value", "minimum", "minimum_unit", "maximum",
                                  "maximum_unit")})
    return rows


@router.post("/dashboard/policy/guardrails")
def set_guardrails(request: Request, who: PostUser, dimension: Field = [],  # noqa: B006
                   value: Field = [], minimum: Field = [],  # noqa: B006
                   minimum_unit: Field = [], maximum: Field = [],  # noqa: B006
                   maximum_unit: Field = [], rationale: ReasonText = "",  # noqa: B006
                   period: Annotated[str, Form(max_length=40)] = "") -> Response:
    """Adopt the policy in force again with the form's guardrails (CX executive)."""
    form = {"dimension": dimension, "value": value, "minimum": minimum,
            "minimum_unit": minimum_unit, "maximum": maximum, "maximum_unit": maximum_unit}
    gov = services(request).gov
    try:
        rails = guardrails_of(form)
        _, terms = gov.policy_terms()
        result = gov.adopt_policy(who, terms=replace(terms, guardrails=rails),
                                  rationale=rationale)
    except CxgovError as exc:
        return policy_page(request, who, period=period or None, as_of=None,
                           status=status_for(exc.code),
                           form_error={"message": exc.message, "code": exc.code,
                                       "field": exc.details.get("field") or "guardrails"},
                           rows=_kept(form), kept_rationale=rationale)
    kept = {k: v for k, v in {"period": period, "min_position": result.position,
                              "done": "new policy version adopted"}.items() if v}
    return RedirectResponse(f"/dashboard/policy?{urlencode(kept)}#guardrails",
                            status_code=303)
