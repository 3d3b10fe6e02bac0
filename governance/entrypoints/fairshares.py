"""`cxgov fair-shares PERIOD [--as-of X] [--json]` (issue 16, part 3)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from governance.entrypoints.common import fail, read
from governance.entrypoints.views import AsJson, AsOf, Period, _emit

RULES = {"greedy": "greedy cut line", "optimal": "exact optimum",
         "equal_shares": "Method of Equal Shares",
         "equal_shares_completed": "Method of Equal Shares, completed"}


def _pct(value: Any) -> str:
    return "-" if value is None else f"{Decimal(value) * 100:.1f}%"


def render_fair_shares(found: dict[str, Any]) -> str:
    """Each plan with every P&L's entitlement, share of spend and share of value."""
    basis = ("OpEx shares" if found["basis"] == "opex" else "equal shares")
    lines = [f"{found['period']}: {Decimal(found['available']) / 1_000_000:.1f} "
             f"{found['currency']} millions available, P&L budgets by {basis}"]
    for plan in found["plans"]:
        lines.append(f"  {RULES[plan['rule']]}: {len(plan['keys'])} initiatives, CIP "
                     f"{Decimal(plan['total_value']):.2f} for "
                     f"{Decimal(plan['total_cost']) / 1_000_000:.1f} M")
        lines.append(f"    {'P&L':<6} {'entitled':>9} {'spend':>9} {'value':>9}"
                     + (f" {'paid M':>9}" if plan["rule"].startswith("equal") else ""))
        for row in plan["by_pnl"]:
            paid = (f" {Decimal(row['paid']) / 1_000_000:>9.2f}"
                    if row["paid"] is not None else "")
            lines.append(f"    {row['pnl']:<6} {_pct(row['entitlement']):>9} "
                         f"{_pct(row['spend_share']):>9} {_pct(row['value_share']):>9}{paid}")
    if found["value_given_up"] is None:
        lines.append(f"  no exact optimum: {found['problem']}")
    else:
        lines.append(f"  the fair plan (completed equal shares) gives up "
                     f"{Decimal(found['value_given_up']):.2f} CIP "
                     f"({Decimal(found['value_given_up_percent']):.2f}%) against the optimum")
    return "\n".join(lines)


def fair_shares_command(period: Period, as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Print fair shares: the Method of Equal Shares beside the greedy and exact plans, each
    P&L's share of spend and of value, and the value the fair plan gives up."""
    found = read(lambda rm: rm.fair_shares(period, as_of=as_of))
    if found is None:
        raise fail(f"no period {period}")
    _emit(found, as_json, lambda: render_fair_shares(found))
