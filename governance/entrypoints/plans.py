"""`cxgov plans ...` (issue 16): save, list, compare and adopt funding plans."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from domain.plans import COMPARE_AT_MOST, Forced
from governance.entrypoints.common import fail, read, write_as
from governance.principal import CX_EXEC

plans_app = typer.Typer(no_args_is_help=True,
                        help="Funding plans: named budget levels, compared, one adopted.")

AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="A log position, or an ISO 8601 UTC time: show the state as it was then.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")]
Actor = Annotated[str, typer.Option(
    "--as", help="Who acts (recorded as the actor, with the CX executive role).")]
PeriodArg = Annotated[str, typer.Argument(help="The fiscal period, e.g. FY2027.")]
NameArg = Annotated[str, typer.Argument(help="The plan's name (case-insensitive).")]
ForcedOpt = Annotated[list[str] | None, typer.Option(
    help="CODE=reason; repeat for more.", show_default=False)]


def _forced(values: list[str] | None, option: str) -> list[Forced]:
    found = []
    for value in values or []:
        code, sep, reason = value.partition("=")
        if not sep:
            raise fail(f"{option} takes CODE=reason, got {value!r}")
        found.append(Forced(code.strip(), reason))
    return found


def _write(subject: str, command: Any) -> None:
    """Run a command as a CX executive; print where it was written."""
    write_as(subject, CX_EXEC, command)


def _money(text: str) -> str:
    """Whole units with thousands separators (for the lines; JSON keeps the exact text)."""
    return f"{Decimal(text):,.0f}"


@plans_app.command("save")
def save(period: PeriodArg, name: NameArg,
         budget: Annotated[str, typer.Option(help="What the period may commit in all.")],
         policy_version: Annotated[int | None, typer.Option(
             "--policy-version", help="Default: the policy in force.")] = None,
         force_in: ForcedOpt = None, force_out: ForcedOpt = None,
         description: Annotated[str, typer.Option()] = "", subject: Actor = "cx.cli") -> None:
    """Save a named plan: its selection is computed now and recorded."""
    try:
        amount = Decimal(budget)
    except InvalidOperation:
        raise fail(f"--budget must be a decimal amount, got {budget!r}") from None
    ins, outs = _forced(force_in, "--force-in"), _forced(force_out, "--force-out")
    _write(subject, lambda gov, who: gov.save_plan(
        who, period=period, name=name, budget=amount, policy_version=policy_version,
        forced_in=ins, forced_out=outs, description=description))


@plans_app.command("adopt")
def adopt(period: PeriodArg, name: NameArg,
          rationale: Annotated[str, typer.Option(help="Why this plan.")],
          subject: Actor = "cx.cli") -> None:
    """Adopt a plan as the period's plan of record (decisions are then judged against it)."""
    _write(subject, lambda gov, who: gov.adopt_plan(who, period=period, name=name,
                                                    rationale=rationale))


@plans_app.command("list")
def list_plans(period: PeriodArg, as_of: AsOf = None, as_json: AsJson = False) -> None:
    """A period's plans: name, budget, cost, value, how many initiatives; * the adopted."""
    found = read(lambda rm: rm.plans(period, as_of=as_of)[1])
    if found is None:
        raise fail(f"no period {period}")
    lines = [f"{'*' if p['adopted'] else ' '} {p['name']:<30} budget {_money(p['budget']):>14}"
             f"  cost {_money(p['cost']):>14}  value {Decimal(p['value']):9.2f}  "
             f"{len(p['items'])} initiative(s)  policy v{p['policy_version']}"
             for p in found["plans"]]
    typer.echo(json.dumps(found, indent=2) if as_json else "\n".join(lines or ["no plans"]))


@plans_app.command("compare")
def compare(period: PeriodArg,
            names: Annotated[list[str], typer.Argument(
                help=f"1 to {COMPARE_AT_MOST} plan names, in column order.")],
            as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Plans side by side: cost, value, shares per P&L and kind, and what differs."""
    found = read(lambda rm: rm.compare_plans(period, names, as_of=as_of)[1])
    if found is None:
        raise fail(f"no period {period}")
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    plans = found["plans"]
    lines = ["".ljust(18) + "".join(f"{p['name'][:22]:>24}" for p in plans)]
    for label, key in (("budget", "budget"), ("cost", "cost"), ("headroom", "headroom")):
        lines.append(f"{label:<18}" + "".join(f"{_money(p[key]):>24}" for p in plans))
    lines.append(f"{'value':<18}" + "".join(f"{Decimal(p['value']):>24.2f}" for p in plans))
    for group in ("by_pnl", "by_kind"):
        keys = sorted({s["key"] for p in plans for s in p[group]})
        for key in keys:
            cells = [next((s["cost_share"] + " %" for s in p[group] if s["key"] == key), "-")
                     for p in plans]
            lines.append(f"{key[:18]:<18}" + "".join(f"{c:>24}" for c in cells))
    for d in found["differences"]:
        lines.append(f"{d['code']}: funded by {', '.join(d['funded_by'])}; "
                     f"not by {', '.join(d['left_out_by'])}")
    if found["plan_of_record"]:
        lines.append(f"plan of record: {found['plan_of_record']}")
    typer.echo("\n".join(lines))
