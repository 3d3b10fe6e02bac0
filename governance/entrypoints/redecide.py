"""`cxgov carry-over ...` and `cxgov metrics retarget|targets ...`: re-decisions (issue 14).

Writes run as a CX executive named by `--as` (the actor recorded); reads take `--as-of`.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from governance.entrypoints.common import fail, read, write_as
from governance.principal import CX_EXEC

metrics_app = typer.Typer(no_args_is_help=True,
                          help="Customer success metrics: retarget, re-baseline, history.")

AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="A log position, or an ISO 8601 UTC time: show the state as it was then.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")]
Actor = Annotated[str, typer.Option(
    "--as", help="Who acts (recorded as the actor, with the CX executive role).")]
Reason = Annotated[str, typer.Option("--reason", help="Why (required: comply or explain).")]


def _write(subject: str, command: Any) -> None:
    """Run a command as a CX executive; print where it was written."""
    write_as(subject, CX_EXEC, command)


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        found = Decimal(value)
    except InvalidOperation:
        raise fail(f"{name} must be a number, got {value!r}") from None
    if not found.is_finite():
        raise fail(f"{name} must be a finite number, got {value!r}")
    return found


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{name} must be a day such as 2028-06-30, got {value!r}") from None


def carry_over_command(
    period: Annotated[str, typer.Argument(help="The original's fiscal period, e.g. FY2027.")],
    code: Annotated[str, typer.Argument(help="The original's code, e.g. I05.")],
    to: Annotated[str, typer.Option("--to", help="The period to carry it into.")],
    reason: Reason,
    cost: Annotated[str | None, typer.Option("--cost", help="A revised cost.")] = None,
    new_code: Annotated[str | None, typer.Option(
        "--code", help="The new initiative's code (default: the next free one).")] = None,
    depends: Annotated[list[str] | None, typer.Option(
        "--depends", help="A dependency in the target period (repeatable).")] = None,
    subject: Actor = "cx.cli",
) -> None:
    """Carry a deferred initiative (or one left undecided when its period closed) into
    another period: a new initiative linked to the original, which can no longer be decided."""
    revised = _decimal(cost, "--cost")
    _write(subject, lambda gov, who: gov.carry_over(
        who, initiative_id=gov.initiative_id(period, code), to_period=to, reason=reason,
        cost=revised, code=new_code, dependencies=tuple(depends or ())))


@metrics_app.command("retarget")
def retarget(
    code: Annotated[str, typer.Argument(help="The metric's code, e.g. M1.")],
    reason: Reason,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", help="A new baseline (a re-baseline).")] = None,
    target: Annotated[str | None, typer.Option("--target", help="A new target.")] = None,
    target_date: Annotated[str | None, typer.Option(
        "--target-date", help="A new target date (YYYY-MM-DD).")] = None,
    clear_date: Annotated[bool, typer.Option(
        "--clear-target-date", help="Drop the target date.")] = False,
    subject: Actor = "cx.cli",
) -> None:
    """Re-baseline or retarget a metric with a reason; what is not given is kept."""
    if clear_date and target_date is not None:
        raise fail("give --target-date or --clear-target-date, not both")
    new_baseline, new_target = _decimal(baseline, "--baseline"), _decimal(target, "--target")
    when = _day(target_date, "--target-date")
    _write(subject, lambda gov, who: gov.retarget_metric(
        who, code=code, baseline=new_baseline, target=new_target, target_date=when,
        reason=reason, clear_target_date=clear_date))


@metrics_app.command("targets")
def targets(
    code: Annotated[str, typer.Argument(help="The metric's code, e.g. M1.")],
    period: Annotated[str | None, typer.Option(
        "--period", help="Also show, per version, the decisions of this period ranked "
                         "under it (the scorecard's history).")] = None,
    as_of: AsOf = None, as_json: AsJson = False,
) -> None:
    """Every target version of a metric, the definition first, with the positions it was in
    force for."""
    def query(rm: Any) -> Any:
        if period is not None:
            return next((c.targets for c in rm.scorecard(period, as_of=as_of)
                         if c.metric == code), None)
        found = rm.snapshot(as_of=as_of).metric(code)
        return None if found is None else found.targets

    rows = read(query)
    if rows is None:
        raise fail(f"no metric {code}" + (f" in period {period}" if period else ""))
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for n, row in enumerate(rows, start=1):
        typer.echo(f"v{n} {row['kind']:<19} baseline {row['baseline']:>8} target "
                   f"{row['target']:>8} by {row['target_date'] or '-':<10} at position "
                   f"{row['position'] if row['position'] is not None else '?'} "
                   f"{row['actor'] or ''}  {row['reason'] or ''}".rstrip())
        for d in row.get("decisions", []):
            typer.echo(f"    {d['code']} {d['outcome']} (rank {d['rank']}, ranked at "
                       f"position {d['ranking_position']})")
