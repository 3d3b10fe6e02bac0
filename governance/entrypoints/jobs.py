"""`cxgov jobs define|rate|serve|map ...`: jobs to be done (issue 15, part 5).

Writes run as a CX executive named by `--as` (the actor recorded); reads take `--as-of`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from governance.entrypoints.common import fail, read
from governance.entrypoints.redecide import Actor, AsJson, AsOf, _decimal, _write

jobs_app = typer.Typer(no_args_is_help=True,
                       help="Jobs to be done: define, rate, the jobs an initiative serves, "
                            "and the job map.")


@jobs_app.command("define")
def define_command(
    code: Annotated[str, typer.Argument(help="The job's code, e.g. J1.")],
    statement: Annotated[str, typer.Option("--statement", help="The job, in the customer's "
                                                                "words.")],
    importance: Annotated[str, typer.Option("--importance", help="0 to 10.")],
    satisfaction: Annotated[str, typer.Option("--satisfaction", help="0 to 10.")],
    scenario: Annotated[str | None, typer.Option("--scenario")] = None,
    metrics: Annotated[list[str] | None, typer.Option(
        "--metric", help="A customer success metric that measures it (repeatable).")] = None,
    subject: Actor = "cx.cli",
) -> None:
    """Define a job to be done with its ODI importance and satisfaction."""
    i, s = _rating(importance, "--importance"), _rating(satisfaction, "--satisfaction")
    _write(subject, lambda gov, who: gov.define_job(
        who, code=code, statement=statement, importance=i, satisfaction=s, scenario=scenario,
        metrics=list(metrics or [])))


@jobs_app.command("rate")
def rate_command(
    code: Annotated[str, typer.Argument(help="The job's code, e.g. J1.")],
    importance: Annotated[str, typer.Option("--importance", help="0 to 10.")],
    satisfaction: Annotated[str, typer.Option("--satisfaction", help="0 to 10.")],
    source: Annotated[str, typer.Option("--source", help="Where the ratings come from.")],
    subject: Actor = "cx.cli",
) -> None:
    """Record a job's new importance and satisfaction (a new survey)."""
    i, s = _rating(importance, "--importance"), _rating(satisfaction, "--satisfaction")
    _write(subject, lambda gov, who: gov.rate_job(
        who, code=code, importance=i, satisfaction=s, source=source))


@jobs_app.command("serve")
def serve_command(
    period: Annotated[str, typer.Argument(help="The initiative's period, e.g. FY2027.")],
    code: Annotated[str, typer.Argument(help="The initiative's code, e.g. I05.")],
    jobs: Annotated[list[str] | None, typer.Option(
        "--job", help="A job it serves (repeatable; the whole set: none given means it "
                      "serves none).")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why.")] = "",
    subject: Actor = "cx.cli",
) -> None:
    """Say which jobs to be done an initiative serves (the whole set, each job defined)."""
    _write(subject, lambda gov, who: gov.link_jobs(
        who, initiative_id=gov.initiative_id(period, code), jobs=list(jobs or []),
        reason=reason))


@jobs_app.command("map")
def map_command(as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Every job by opportunity score, and the metric weights the opportunities propose."""
    found: dict[str, Any] = read(lambda rm: rm.jobs(as_of=as_of)[1])
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    for j in found["jobs"]:
        typer.echo(f"{j['rank']:>3} {j['code']:<6} opportunity {j['opportunity']:>5} "
                   f"(importance {j['importance']}, satisfaction {j['satisfaction']})"
                   f"{' underserved' if j['underserved'] else ''}  {j['statement']}"
                   f"{' [' + ', '.join(j['metrics']) + ']' if j['metrics'] else ''}"
                   f"{served(j)}")
    if not found["jobs"]:
        typer.echo("no jobs to be done yet")
    if found["proposed_weights"]:
        typer.echo("proposed weights (preview before adopting): " + ", ".join(
            f"{k} {v}" for k, v in found["proposed_weights"].items()))


def served(job: dict[str, Any]) -> str:
    """The initiatives serving a job, as `; served by FY2027/I05, ...` (empty: none)."""
    found = [f"{i['period']}/{i['code']}" for i in job.get("initiatives", [])]
    return f"; served by {', '.join(found)}" if found else ""


def _rating(value: str, name: str) -> Any:
    found = _decimal(value, name)
    if found is None:
        raise fail(f"{name} is required")
    return found
