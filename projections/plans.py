"""Funding plans on the read side (issue 16): a period's plans, and plans side by side (the
fold of their events: projections/plans_fold.py).

A plan's event carries its whole selection (code, cost, value, P&L, kind, claimed metrics of
each selected initiative), so the fold keeps plain values in the state's core (no period part)
and a comparison is computed when asked for, from the core alone: as of any position it
replays without loading a single initiative.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import Field

from domain.plans import COMPARE_AT_MOST, plan_key
from projections.codec import plain
from projections.rows import DecimalText, ReadRow, TimeText

if TYPE_CHECKING:
    from projections.state import PortfolioState

CROSS_PNL = "(cross-P&L)"  # the P&L bucket of initiatives sponsored across P&Ls


# --- the rows -------------------------------------------------------------------------------

class ForcedRow(ReadRow):
    """An initiative forced into or out of a plan, and why."""

    code: str
    reason: str


class PlanItem(ReadRow):
    """One initiative a plan funds."""

    code: str
    cost: DecimalText
    value: DecimalText = Field(description="Its customer impact points under the plan's policy.")
    rank: int
    pnl: str | None
    kind: str
    funded: bool = Field(description="Funded already when the plan was saved.")
    forced: bool = Field(description="Forced in by the plan.")
    metrics: list[str]


class ShareRow(ReadRow):
    """One P&L's or kind's part of a plan: cost and value, and their shares of the plan's."""

    key: str
    cost: DecimalText
    cost_share: DecimalText = Field(description="Percent of the plan's cost (2 places).")
    value: DecimalText
    value_share: DecimalText = Field(description="Percent of the plan's value (2 places).")
    initiatives: int


class MetricMoved(ReadRow):
    """A metric the plan's initiatives claim to move, and which of them do."""

    metric: str
    customer_phrasing: str | None
    initiatives: list[str]


class Adoption(ReadRow):
    """A plan adopted as the plan of record: by whom, when, why, replacing which."""

    name: str
    rationale: str
    replaces: str | None
    actor: str
    at: TimeText
    position: int


class PlanRow(ReadRow):
    """A saved plan: what it fixed, what it funds, and how that divides."""

    id: str
    period: str
    name: str
    description: str
    budget: DecimalText
    policy_version: int
    forced_in: list[ForcedRow]
    forced_out: list[ForcedRow]
    computed_at: int = Field(description="The log position its selection was computed at.")
    position: int = Field(description="The log position of the plan's event.")
    saved_by: str
    saved_at: TimeText
    available: DecimalText = Field(description="Budget less what was committed then.")
    cost: DecimalText = Field(description="What the selection costs, funded work included.")
    value: DecimalText = Field(description="The selection's customer impact points.")
    headroom: DecimalText = Field(description="Budget less cost.")
    unmet: list[str] = Field(description="Guardrails the selection could not meet.")
    adopted: bool = Field(description="The plan of record as of the read position.")
    items: list[PlanItem]
    by_pnl: list[ShareRow]
    by_kind: list[ShareRow]
    metrics_moved: list[MetricMoved]


class PlanDifference(ReadRow):
    """An initiative that some of the compared plans fund and others do not."""

    code: str
    funded_by: list[str] = Field(description="The names of the plans that fund it.")
    left_out_by: list[str]


class PlanSetting(ReadRow):
    """A setting the compared plans fix differently: each plan's value, in plan order."""

    setting: str
    values: list[str]


class PlansList(ReadRow):
    """A period's plans and its plan of record."""

    period: str
    plans: list[PlanRow]
    plan_of_record: str | None
    adoptions: list[Adoption]


class PlanComparison(ReadRow):
    """Up to four plans side by side, and what differs between them."""

    period: str
    plans: list[PlanRow]
    plan_of_record: str | None
    in_all: list[str] = Field(description="Initiatives every compared plan funds.")
    differences: list[PlanDifference]
    settings: list[PlanSetting]


# --- the views ------------------------------------------------------------------------------

def _share(part: Decimal, whole: Decimal) -> Decimal:
    return (part * 100 / whole).quantize(Decimal("0.01")) if whole else Decimal(0)


def _shares(items: list[dict[str, Any]], key: str, cost: Decimal,
            value: Decimal) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        groups.setdefault(item.get(key) or CROSS_PNL, []).append(item)
    rows = []
    for name, members in sorted(groups.items()):
        c = sum((Decimal(i["cost"]) for i in members), Decimal(0))
        v = sum((Decimal(i["value"]) for i in members), Decimal(0))
        rows.append({"key": name, "cost": c, "cost_share": _share(c, cost), "value": v,
                     "value_share": _share(v, value), "initiatives": len(members)})
    return rows


def _adopted_id(state: PortfolioState, period: str) -> str | None:
    record = state.plans_of_record.get(period)
    return record["adoptions"][-1]["plan_id"] if record and record["adoptions"] else None


def plan_row(state: PortfolioState, plan: dict[str, Any]) -> PlanRow:
    """A plan's row as of the state's position."""
    items = plan["items"]
    cost = sum((Decimal(i["cost"]) for i in items), Decimal(0))
    value = sum((Decimal(i["value"]) for i in items), Decimal(0))
    moved: dict[str, list[str]] = {}
    for item in items:
        for metric in item["metrics"]:
            moved.setdefault(metric, []).append(item["code"])
    metrics = []
    for code, codes in sorted(moved.items()):
        known = state.metrics.get(code)
        metrics.append({"metric": code, "initiatives": codes,
                        "customer_phrasing": known.customer_phrasing if known else None})
    return PlanRow.model_validate(plain({
        **{k: plan[k] for k in ("id", "period", "name", "description", "budget",
                                "policy_version", "forced_in", "forced_out", "computed_at",
                                "position", "saved_by", "saved_at", "available", "unmet",
                                "items")},
        "cost": cost, "value": value, "headroom": Decimal(plan["budget"]) - cost,
        "adopted": _adopted_id(state, plan["period"]) == plan["id"],
        "by_pnl": _shares(items, "pnl", cost, value),
        "by_kind": _shares(items, "kind", cost, value),
        "metrics_moved": metrics}))


def period_plans(state: PortfolioState, period: str) -> list[dict[str, Any]]:
    """A period's plans in the order they were saved."""
    return sorted((p for p in state.funding_plans.values() if p["period"] == period),
                  key=lambda p: p["position"])


def plans_list(state: PortfolioState, period: str) -> PlansList:
    """A period's plans, its plan of record and the adoptions so far."""
    record = state.plans_of_record.get(period) or {"adoptions": []}
    plans = [plan_row(state, p) for p in period_plans(state, period)]
    return PlansList(period=period, plans=plans, plan_of_record=_record_name(state, period),
                     adoptions=[Adoption.model_validate(plain(
                         {k: a[k] for k in ("name", "rationale", "replaces", "actor", "at",
                                            "position")}))
                                for a in record["adoptions"]])


def find_plans(state: PortfolioState, period: str,
               names: Sequence[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The plans of a period named (in the order named), and the names not found."""
    by_key = {plan_key(p["name"]): p for p in period_plans(state, period)}
    found, missing = [], []
    for name in names:
        plan = by_key.get(plan_key(name))
        if plan is None:
            missing.append(name)
        elif plan not in found:
            found.append(plan)
    return found, missing


def compare(state: PortfolioState, period: str, plans: list[dict[str, Any]]) -> PlanComparison:
    """Plans side by side (at most four): their rows, what every one funds, the initiatives
    they disagree on, and the settings that differ."""
    if len(plans) > COMPARE_AT_MOST:
        raise ValueError(f"at most {COMPARE_AT_MOST} plans side by side")
    rows = [plan_row(state, p) for p in plans]
    funded = [{i.code for i in r.items} for r in rows]
    union = sorted(set().union(*funded)) if funded else []
    in_all = [c for c in union if all(c in f for f in funded)]
    differences = [PlanDifference(
        code=c, funded_by=[r.name for r, f in zip(rows, funded, strict=True) if c in f],
        left_out_by=[r.name for r, f in zip(rows, funded, strict=True) if c not in f])
        for c in union if c not in in_all]
    settings = []
    for name, value in (
            ("budget", lambda r: r.budget), ("policy_version", lambda r: str(r.policy_version)),
            ("forced_in", lambda r: ", ".join(f.code for f in r.forced_in)),
            ("forced_out", lambda r: ", ".join(f.code for f in r.forced_out))):
        values = [value(r) for r in rows]
        if len(set(values)) > 1:
            settings.append(PlanSetting(setting=name, values=values))
    return PlanComparison(period=period, plans=rows, plan_of_record=_record_name(state, period),
                          in_all=in_all, differences=differences, settings=settings)


def _record_name(state: PortfolioState, period: str) -> str | None:
    adopted = _adopted_id(state, period)
    plan = state.funding_plans.get(adopted) if adopted else None
    return plan["name"] if plan else None
