"""`cxgov signals ...`, `cxgov reviews ...` and `cxgov benefits ...` (issue 14)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID

import typer

from domain.benefits import BenefitPoint
from governance.entrypoints.common import fail, read, write_as
from governance.principal import CX_EXEC

signals_app = typer.Typer(no_args_is_help=True, help="What needs attention, and answering it.")
reviews_app = typer.Typer(no_args_is_help=True, help="Reviews: the decision meetings.")
benefits_app = typer.Typer(no_args_is_help=True, help="Benefit plans and their realisation.")

AsOf = Annotated[str | None, typer.Option(
    "--as-of", help="A log position, or an ISO 8601 UTC time: show the state as it was then.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")]
Period = Annotated[str | None, typer.Option("--period", help="Only this fiscal period's.")]
Actor = Annotated[str, typer.Option(
    "--as", help="Who acts (recorded as the actor, with the CX executive role).")]
Review = Annotated[str | None, typer.Option(
    "--review", help="The id of the open review this is done in (recorded on it).")]


def _write(subject: str, command: Any) -> None:
    """Run a command as a CX executive; print where it was written."""
    write_as(subject, CX_EXEC, command)


def _uuid(value: str | None, name: str) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        raise fail(f"{name} must be a UUID, got {value!r}") from None


def _emit(payload: Any, as_json: bool, lines: list[str]) -> None:
    typer.echo(json.dumps(payload, indent=2) if as_json else "\n".join(lines))


# --- signals --------------------------------------------------------------------------------


@signals_app.command("list")
def list_signals(period: Period = None,
                 kind: Annotated[str | None, typer.Option("--kind")] = None,
                 state: Annotated[str | None, typer.Option("--state")] = None,
                 as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Signals: key, state, severity, since, who should act, what."""
    rows = read(lambda rm: rm.loop(as_of=as_of).signals(period=period, kind=kind, state=state))
    _emit(rows, as_json, [f"{r['state']:<12} {r['severity']:<6} {r['since'][:16]}  "
                          f"{r['role']:<9} {r['key']}  {r['title']}" for r in rows]
          or ["no signals"])


@signals_app.command("ack")
def acknowledge(key: Annotated[str, typer.Argument(help="The signal key.")],
                note: Annotated[str, typer.Option("--note")] = "", review: Review = None,
                subject: Actor = "cx.cli") -> None:
    """Acknowledge an open signal with a note."""
    review_id = _uuid(review, "--review")
    _write(subject, lambda gov, who: gov.acknowledge_signal(who, key=key, note=note,
                                                            review=review_id))


@signals_app.command("resolve")
def resolve(key: Annotated[str, typer.Argument(help="The signal key.")],
            note: Annotated[str, typer.Option("--note", help="How it was dealt with.")],
            review: Review = None, subject: Actor = "cx.cli") -> None:
    """Resolve a signal with a note saying how."""
    review_id = _uuid(review, "--review")
    _write(subject, lambda gov, who: gov.resolve_signal(who, key=key, note=note,
                                                        review=review_id))


@signals_app.command("loop-speed")
def loop_speed(period: Period = None, as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Time from a signal to its first answer: median and 90th percentile per period."""
    rows = read(lambda rm: rm.loop(as_of=as_of).loop_speed(period))
    _emit(rows, as_json, [f"{r['period']:<8} answered {r['answered']:>4}  median "
                          f"{_hours(r['median_seconds'])} h  p90 {_hours(r['p90_seconds'])} h"
                          for r in rows] or ["no answered signals"])


def _hours(seconds: str) -> str:
    return f"{Decimal(seconds) / 3600:.1f}"


# --- reviews --------------------------------------------------------------------------------


@reviews_app.command("list")
def list_reviews(period: Period = None, as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Reviews in the order they were opened."""
    rows = read(lambda rm: rm.loop(as_of=as_of).reviews(period))
    _emit(rows, as_json, [f"{r['id']}  {r['period']}  {'closed' if r['closed'] else 'open':<6} "
                          f"{len(r['signals'])} signal(s), {len(r['items'])} item(s)  "
                          f"{r['title']}" for r in rows] or ["no reviews"])


@reviews_app.command("show")
def show_review(review_id: Annotated[str, typer.Argument(help="The review id.")],
                as_of: AsOf = None) -> None:
    """One review as JSON."""
    found = read(lambda rm: rm.loop(as_of=as_of).review(review_id))
    if found is None:
        raise fail(f"no review {review_id}")
    typer.echo(json.dumps(found, indent=2))


@reviews_app.command("open")
def open_review(period: Annotated[str, typer.Argument(help="Fiscal period code.")],
                title: Annotated[str, typer.Option("--title")] = "",
                subject: Actor = "cx.cli") -> None:
    """Open a review of a period (the open signals and ranking are recorded as of now)."""
    _write(subject, lambda gov, who: gov.open_review(who, period=period, title=title))


@reviews_app.command("close")
def close_review(review_id: Annotated[str, typer.Argument(help="The review id.")],
                 minutes: Annotated[str, typer.Option("--minutes")],
                 subject: Actor = "cx.cli") -> None:
    """Close a review with its minutes."""
    found = _uuid(review_id, "review id")
    assert found is not None
    _write(subject, lambda gov, who: gov.close_review(who, review_id=found, minutes=minutes))


@reviews_app.command("stop")
def stop_in_review(review_id: Annotated[str, typer.Argument(help="The review id.")],
                   period: Annotated[str, typer.Argument(help="Fiscal period code.")],
                   code: Annotated[str, typer.Argument(help="Initiative code.")],
                   reason: Annotated[str, typer.Option("--reason")],
                   subject: Actor = "cx.cli") -> None:
    """Stop approved work in a review (releases what it has not spent)."""
    found = _uuid(review_id, "review id")
    _write(subject, lambda gov, who: gov.cancel_initiative(
        who, initiative_id=gov.initiative_id(period, code), reason=reason, review=found))


# --- benefits -------------------------------------------------------------------------------


def _points(values: list[str]) -> list[BenefitPoint]:
    found = []
    for value in values:
        try:
            metric, by, expected = value.split(":")
            found.append(BenefitPoint(metric, date.fromisoformat(by), Decimal(expected)))
        except (ValueError, InvalidOperation):
            raise fail(f"a point is METRIC:YYYY-MM-DD:VALUE, got {value!r}") from None
    return found


Points = Annotated[list[str], typer.Option(
    "--point", help="METRIC:YYYY-MM-DD:VALUE, repeated (dates ascending per metric).")]


@benefits_app.command("list")
def list_plans(period: Period = None, as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Benefit plans with realisation at each plan date."""
    rows = read(lambda rm: rm.loop(as_of=as_of).benefit_plans(period))
    lines = []
    for r in rows:
        lines.append(f"{r['period']} {r['code']}  owner {r['owner']}"
                     f"{'  AT RISK: ' + ', '.join(r['at_risk']) if r['at_risk'] else ''}")
        for p in r["points"]:
            share = "-" if p["realisation"] is None else f"{Decimal(p['realisation']):.0%}"
            lines.append(f"    {p['metric']:<6} by {p['by']} expect {p['expected']:>8} "
                         f"read {p['actual'] or '-':>8}  realised {share}")
    _emit(rows, as_json, lines or ["no benefit plans"])


@benefits_app.command("plan")
def plan(period: Annotated[str, typer.Argument(help="Fiscal period code.")],
         code: Annotated[str, typer.Argument(help="Initiative code.")],
         owner: Annotated[str, typer.Option("--owner", help="The benefit owner.")],
         points: Points, subject: Actor = "cx.cli") -> None:
    """Plan an approved initiative's benefits."""
    found = _points(points)
    _write(subject, lambda gov, who: gov.plan_benefits(
        who, initiative_id=gov.initiative_id(period, code), owner=owner, points=found))


@benefits_app.command("revise")
def revise(period: Annotated[str, typer.Argument(help="Fiscal period code.")],
           code: Annotated[str, typer.Argument(help="Initiative code.")],
           points: Points, reason: Annotated[str, typer.Option("--reason")],
           owner: Annotated[str | None, typer.Option("--owner")] = None,
           subject: Actor = "cx.cli") -> None:
    """Revise a benefit plan, with a reason."""
    found = _points(points)
    _write(subject, lambda gov, who: gov.revise_benefits(
        who, initiative_id=gov.initiative_id(period, code), points=found, reason=reason,
        owner=owner))
