"""The submission form: parse, validate with the API's schema, and name fields in errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from api.schemas import InitiativeCreate
from api.web import amounts
from domain.initiative import Proposal
from domain.values import ImpactClaim

IMPACT_ROWS = 3
LIST_FIELDS = ("touchpoints", "functional_areas")
TEXT_FIELDS = ("period", "kind", "pnl", "title", "problem", "scenario", "cost", "confidence")
FORM_ORDER = ("period", "kind", "pnl", "title", "problem", "scenario", "touchpoints",
              "functional_areas", "cost", "confidence")


@dataclass
class SubmissionForm:
    """The form's values as typed, and errors by field name."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    body: InitiativeCreate | None = None
    # amounts read from what was typed ("$2.5M" -> "$2,500,000"), shown back (issue 17)
    understood: dict[str, str] = field(default_factory=dict)

    @property
    def first_invalid(self) -> str | None:
        """The first field with an error, in the form's order (it takes the focus)."""
        order = [*FORM_ORDER, *(f"impact_{p}_{i}" for i in range(IMPACT_ROWS)
                                for p in ("metric", "value", "reach"))]
        return next((name for name in order if name in self.errors), None)

    @property
    def proposal(self) -> Proposal:
        """The validated proposal (only after a successful `validate`)."""
        if self.body is None:
            raise ValueError("the form is not valid")
        b = self.body
        return Proposal(title=b.title, problem=b.problem, scenario=b.scenario,
                        touchpoints=tuple(b.touchpoints),
                        functional_areas=tuple(b.functional_areas), cost=b.cost,
                        confidence=b.confidence,
                        expected_impacts=tuple(ImpactClaim(i.metric, i.expected_value, i.reach)
                                               for i in b.expected_impacts))


def read_form(data: Mapping[str, Any]) -> SubmissionForm:
    """The raw form values, impacts as rows."""
    values: dict[str, Any] = {k: str(data.get(k, "") or "").strip() for k in TEXT_FIELDS}
    for name in LIST_FIELDS:
        values[name] = str(data.get(name, "") or "")
    values["impacts"] = [{part: str(data.get(f"impact_{part}_{i}", "") or "").strip()
                          for part in ("metric", "value", "reach")}
                         for i in range(IMPACT_ROWS)]
    for key in ("initiative_id", "version", "reason"):
        values[key] = str(data.get(key, "") or "").strip()
    return SubmissionForm(values)


def validate(form: SubmissionForm) -> SubmissionForm:
    """Check the values with the API's request schema; errors keyed by form field."""
    v = form.values
    cost = _understood_money(form, "cost", v["cost"])
    impacts = [{"metric": i["metric"], "expected_value": i["value"],
                "reach": _understood_share(form, f"impact_reach_{n}", i["reach"])}
               for n, i in enumerate(v["impacts"]) if i["metric"] or i["value"] or i["reach"]]
    payload = {"period": v["period"], "kind": v["kind"] or "pnl", "pnl": v["pnl"] or None,
               "title": v["title"], "problem": v["problem"], "scenario": v["scenario"] or None,
               "cost": cost, "confidence": v["confidence"], "expected_impacts": impacts,
               **{n: [x.strip() for x in v[n].split(",") if x.strip()] for n in LIST_FIELDS}}
    try:
        form.body = InitiativeCreate.model_validate(payload)
    except ValidationError as exc:
        rows = [i for i, row in enumerate(v["impacts"])
                if row["metric"] or row["value"] or row["reach"]]
        for error in exc.errors():
            form.errors.setdefault(field_name(error["loc"], rows), str(error["msg"]))
    return form


def _understood_money(form: SubmissionForm, name: str, typed: str) -> str:
    """The amount typed, as the schema takes it; what it was read as, when that differs."""
    amount = amounts.money_amount(typed)
    if amount is None:
        return typed
    if str(amount) != typed:
        form.understood[name] = f"${amount:,}"
    return str(amount)


def _understood_share(form: SubmissionForm, name: str, typed: str) -> str:
    """A share typed as "30%" is 0.3 (shown back); anything else goes on as typed."""
    value = amounts.share(typed) if typed.endswith("%") else None
    if value is None:
        return typed
    form.understood[name] = f"{value.normalize():f} ({typed.replace(' ', '')})"
    return str(value)


def field_name(loc: tuple[int | str, ...], rows: list[int]) -> str:
    """The form field a schema location names (impact n -> the row's input)."""
    if loc and loc[0] == "expected_impacts" and len(loc) >= 3 and isinstance(loc[1], int):
        part = {"expected_value": "value"}.get(str(loc[2]), str(loc[2]))
        return f"impact_{part}_{rows[loc[1]]}"
    return str(loc[0]) if loc else "form"


def impact_field(field_: str | None, form: SubmissionForm) -> str:
    """A domain error's field, pointed at the form (metric errors at the first impact row)."""
    if field_ in ("metric", "expected_impacts"):
        return "impact_metric_0"
    return field_ or "form"
