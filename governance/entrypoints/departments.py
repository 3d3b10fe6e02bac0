"""`cxgov departments list|show|map ...`: operational metrics with owners and the department
view (issue 15, part 3).

`map` runs as a CX executive named by `--as` (the actor recorded); reads take `--as-of`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from governance.entrypoints.common import fail, read
from governance.entrypoints.redecide import Actor, AsJson, AsOf, _write

departments_app = typer.Typer(
    no_args_is_help=True,
    help="Departments: the operational metrics they own and the customer outcomes they serve.")

FIELDS = ("name", "source", "aggregation", "department")


def parse_operational(text: str) -> dict[str, str]:
    """`NAME | SOURCE | AGGREGATION | DEPARTMENT` as one operational metric."""
    parts = [p.strip() for p in text.split("|")]
    if len(parts) != len(FIELDS):
        raise fail(f"--operational takes 'NAME | SOURCE | AGGREGATION | DEPARTMENT', got "
                   f"{text!r}")
    return dict(zip(FIELDS, parts, strict=True))


@departments_app.command("map")
def map_command(
    code: Annotated[str, typer.Argument(help="The customer success metric's code, e.g. M1.")],
    operational: Annotated[list[str], typer.Option(
        "--operational", help="'NAME | SOURCE | AGGREGATION | DEPARTMENT' (repeatable; the "
                              "whole mapping, replacing the one before).")],
    subject: Actor = "cx.cli",
) -> None:
    """Map a metric to its operational metrics, each with its data source, aggregation rule
    and owning department."""
    items = [parse_operational(text) for text in operational]
    _write(subject, lambda gov, who: gov.map_operational_metrics(
        who, code=code, operational_metrics=items))


@departments_app.command("list")
def list_command(as_of: AsOf = None, as_json: AsJson = False) -> None:
    """Every department that owns an operational metric, and how its outcomes are doing."""
    rows: list[dict[str, Any]] = read(lambda rm: rm.departments(as_of=as_of)[1])
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no operational metric is mapped to a department")
    for d in rows:
        counts = " ".join(f"{k} {v}" for k, v in d["statuses"].items() if v)
        typer.echo(f"{d['department']}: {d['operational_metrics']} operational metric(s) "
                   f"serving {', '.join(d['metrics'])} ({counts})")


@departments_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="The department (case-insensitive).")],
    as_of: AsOf = None, as_json: AsJson = False,
) -> None:
    """One department's operational metrics and the customer outcomes they serve."""
    found: dict[str, Any] | None = read(lambda rm: rm.department(name, as_of=as_of)[1])
    if found is None:
        raise fail(f"[department.not_found] no operational metric is owned by {name!r}")
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    typer.echo(found["department"])
    for o in found["outcomes"]:
        typer.echo(f"  {o['metric']} {o['status']:<5} {o['customer_phrasing']}: current "
                   f"{o['current'] or '-'} {o['unit']} (baseline {o['baseline']}, target "
                   f"{o['target']}){' ' + o['trend_word'] if o['trend_word'] else ''}")
        for m in found["operational_metrics"]:
            if m["metric"] == o["metric"]:
                typer.echo(f"      {m['name']} ({m['aggregation']}; source {m['source']})")
