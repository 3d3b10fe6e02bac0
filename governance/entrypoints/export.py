"""`cxgov export`: ranking, recommendation, ledger or scorecard as CSV or JSON, as of any time."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from domain.errors import CxgovError
from governance.entrypoints.common import fail, runtime
from projections.query import AsOfOutOfRange, NotCaughtUp, ReadModels
from projections.rows import jsonable

Row = dict[str, Any]


class What(StrEnum):
    """The read models that can be exported."""

    ranking = "ranking"
    recommendation = "recommendation"
    ledger = "ledger"
    scorecard = "scorecard"


class Format(StrEnum):
    """Output formats."""

    csv = "csv"
    json = "json"


def flatten(row: Row, prefix: str = "") -> Row:
    """Nested objects as dotted columns; lists as JSON text (one CSV cell)."""
    flat: Row = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, separators=(",", ":"), default=str)
        else:
            flat[name] = "" if value is None else value
    return flat


def recommendation_rows(found: Row) -> list[Row]:
    """One row per initiative the recommendation names: greedy, optimum, reasons."""
    greedy = set(found["greedy"]["keys"])
    optimum = set((found.get("optimal") or {}).get("keys") or ())
    unfunded = {u["code"]: u for u in found["unfunded"]}
    codes = sorted(greedy | optimum | set(unfunded))
    return [{"code": code, "in_greedy": code in greedy, "in_optimum": code in optimum,
             "reason_code": unfunded.get(code, {}).get("reason_code", ""),
             "reason": unfunded.get(code, {}).get("reason", ""),
             "extra_budget": unfunded.get(code, {}).get("extra_budget", "")}
            for code in codes]


def query(models: ReadModels, what: What, period: str, as_of: str | None) -> Any:
    """The read model's content, as the API returns it (plain JSON values)."""
    if what is What.ranking:
        return jsonable(models.ranking(period, as_of=as_of))
    if what is What.recommendation:
        return jsonable(models.recommendation(period, as_of=as_of))
    if what is What.ledger:
        found = models.ledger(period, as_of=as_of)
        if found is None:
            raise fail(f"no period {period}")
        return jsonable(found)
    return jsonable(models.scorecard(period, as_of=as_of))


def render(what: What, content: Any, fmt: Format) -> str:
    """The content as JSON, or as CSV with one row per item."""
    if fmt is Format.json:
        return json.dumps(content, indent=2, default=str) + "\n"
    rows: list[Row]
    if what is What.recommendation:
        rows = recommendation_rows(content)
    elif isinstance(content, dict):
        rows = [flatten(content)]
    else:
        rows = [flatten(r) for r in content]
    header: list[str] = []
    for row in rows:
        header += [k for k in row if k not in header]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def export_command(
    what: Annotated[What, typer.Argument(help="Which read model to export.")],
    period: Annotated[str, typer.Option(help="Budget period code, e.g. FY2027.")],
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="A log position or an ISO 8601 UTC time (default: now).")] = None,
    format: Annotated[Format, typer.Option(
        "--format", help="csv or json.")] = Format.csv,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="File to write (default: standard output).")] = None,
) -> None:
    """Export a read model of a period as CSV or JSON, live or as of any position or time."""
    with runtime() as rt:
        try:
            text = render(what, query(rt.read_models(), what, period, as_of), format)
        except CxgovError as exc:
            raise fail(f"[{exc.code}] {exc.message}") from None
        except (AsOfOutOfRange, NotCaughtUp) as exc:
            raise fail(str(exc)) from None
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {what.value} of {period} to {output}", err=True)
