"""`cxgov round open|mark|close-intake|open-decisions|reschedule|show ...`: a period's funding
round (issue 16, part 4); the phase changes people make, with a reason (decision 200).

Writes run as a CX executive named by `--as` (the actor recorded); `show` takes `--as-of`.
Times are ISO 8601 with a UTC offset (`2027-01-10T09:00:00Z`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from governance.entrypoints.common import fail, read
from governance.entrypoints.redecide import Actor, AsJson, AsOf, Reason, _write

round_app = typer.Typer(no_args_is_help=True,
                        help="Funding rounds: open one, mark feasibility, change the phase "
                             "by hand, show the phase.")


@round_app.command("open")
def open_command(
    period: Annotated[str, typer.Argument(help="The period, e.g. FY2027.")],
    intake_opens: Annotated[str, typer.Option("--intake-opens", help="Intake opens (inclusive).")],
    intake_closes: Annotated[str, typer.Option("--intake-closes",
                                               help="Intake closes (exclusive).")],
    review_deadline: Annotated[str, typer.Option("--review-deadline",
                                                 help="Feasibility review ends; decisions "
                                                      "from here.")],
    decision_deadline: Annotated[str, typer.Option("--decision-deadline",
                                                   help="Decisions due (shown, refuses "
                                                        "nothing).")],
    subject: Actor = "cx.cli",
) -> None:
    """Open the period's funding round with its schedule (one per period)."""
    times = [_time(v, n) for v, n in ((intake_opens, "--intake-opens"),
                                      (intake_closes, "--intake-closes"),
                                      (review_deadline, "--review-deadline"),
                                      (decision_deadline, "--decision-deadline"))]
    _write(subject, lambda gov, who: gov.open_round(
        who, period=period, intake_opens=times[0], intake_closes=times[1],
        review_deadline=times[2], decision_deadline=times[3]))


@round_app.command("mark")
def mark_command(
    period: Annotated[str, typer.Argument(help="The period, e.g. FY2027.")],
    code: Annotated[str, typer.Argument(help="The initiative's code, e.g. I01.")],
    verdict: Annotated[str, typer.Option("--verdict", help="feasible | needs_information")],
    note: Annotated[str, typer.Option("--note", help="What is needed (required with "
                                                     "needs_information).")] = "",
    subject: Actor = "cx.cli",
) -> None:
    """Mark a submission feasible or needing information (during intake or review)."""
    _write(subject, lambda gov, who: gov.mark_feasibility(
        who, period=period, code=code, verdict=verdict, note=note))


@round_app.command("close-intake")
def close_intake_command(period: Annotated[str, typer.Argument(help="The period, e.g. FY2027.")],
                         reason: Reason, subject: Actor = "cx.cli") -> None:
    """Close intake now (later submissions are refused); only while intake is open."""
    _write(subject, lambda gov, who: gov.change_round(
        who, period=period, change="close_intake", reason=reason))


@round_app.command("open-decisions")
def open_decisions_command(
    period: Annotated[str, typer.Argument(help="The period, e.g. FY2027.")],
    reason: Reason, subject: Actor = "cx.cli",
) -> None:
    """End the feasibility review now and open decisions; only during the review."""
    _write(subject, lambda gov, who: gov.change_round(
        who, period=period, change="open_decisions", reason=reason))


@round_app.command("reschedule")
def reschedule_command(
    period: Annotated[str, typer.Argument(help="The period, e.g. FY2027.")],
    reason: Reason,
    intake_opens: Annotated[str | None, typer.Option(
        "--intake-opens", help="New intake opening (only before intake opens).")] = None,
    intake_closes: Annotated[str | None, typer.Option(
        "--intake-closes", help="New intake close (not once decisions began).")] = None,
    review_deadline: Annotated[str | None, typer.Option(
        "--review-deadline", help="New review deadline (not once decisions began).")] = None,
    decision_deadline: Annotated[str | None, typer.Option(
        "--decision-deadline", help="New decision deadline.")] = None,
    subject: Actor = "cx.cli",
) -> None:
    """Move any of the round's times (those not given stay); none may move before now."""
    times = {name: _time(value, flag) if value is not None else None
             for name, value, flag in (
                 ("intake_opens", intake_opens, "--intake-opens"),
                 ("intake_closes", intake_closes, "--intake-closes"),
                 ("review_deadline", review_deadline, "--review-deadline"),
                 ("decision_deadline", decision_deadline, "--decision-deadline"))}
    _write(subject, lambda gov, who: gov.change_round(
        who, period=period, change="reschedule", reason=reason, **times))


@round_app.command("show")
def show_command(period: Annotated[str, typer.Argument(help="The period, e.g. FY2027.")],
                 as_of: AsOf = None, as_json: AsJson = False) -> None:
    """The round's phase (live at the clock, or as of a position), deadlines, marks, changes."""
    found: dict[str, Any] = read(lambda rm: rm.funding_round(period, as_of=as_of)[1])
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    if found is None:
        typer.echo(f"{period} runs no funding round: submissions and decisions at any time")
        return
    typer.echo(f"{period} round: {found['phase']} at {found['at']}"
               f"{' (decision deadline passed)' if found['overdue'] else ''}")
    typer.echo(f"  intake   {found['intake_opens']} .. {found['intake_closes']}")
    typer.echo(f"  review   until {found['review_deadline']}")
    typer.echo(f"  decision from {found['review_deadline']}, due {found['decision_deadline']}")
    for m in found["feasibility"]:
        typer.echo(f"  {m['code']:<6} {m['verdict']}{': ' + m['note'] if m['note'] else ''}")
    for c in found.get("changes") or []:
        moved = ", ".join(f"{k} {c['before'][k]} -> {c['after'][k]}" for k in c["moved"])
        typer.echo(f"  changed at position {c['position']} by {c['changed_by']} "
                   f"({c['change']}, in {c['phase_before']}): {moved}; why: {c['reason']}")


def _time(value: str, name: str) -> datetime:
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise fail(f"{name} must be an ISO 8601 time") from None
    if found.tzinfo is None:
        raise fail(f"{name} needs a UTC offset (e.g. Z)")
    return found
