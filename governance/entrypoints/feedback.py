"""`cxgov feedback import|list|cite ...`: voice of the customer as evidence (issue 15, part 6).

Writes run as a CX executive named by `--as` (the actor recorded); reads take `--as-of`.
`import` reads a CSV file (UTF-8, one header row) of feedback items, one per row, with the
columns `verbatim`, `channel`, `received_on` and optionally `pnl`, `cohort`, `scenario`, `job`,
`metric`; it is recorded as one batch through the command behind `POST /v1/feedback`, all
or nothing, and a refused row is named by its line.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from domain.errors import InvalidInput
from domain.feedback import FIELDS, MOST_ITEMS
from governance.entrypoints.common import fail, read
from governance.entrypoints.redecide import Actor, AsJson, AsOf, _write

feedback_app = typer.Typer(no_args_is_help=True,
                           help="Voice of the customer: import, list and cite feedback.")
_ITEM = re.compile(r"^items\.(\d+)(?:\.(.*))?$")


def read_feedback_csv(path: Path) -> list[dict[str, Any]]:
    """The items of a feedback CSV file (empty cells are absent); unknown columns refused."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        unknown = sorted(set(reader.fieldnames or []) - FIELDS)
        if unknown:
            raise fail(f"{path.name}:1: unknown column {unknown[0]!r}")
        items = [{k: v for k, v in row.items() if v not in (None, "")} for row in reader]
    if len(items) > MOST_ITEMS:
        raise fail(f"{path.name}: at most {MOST_ITEMS:,} items per file, got {len(items):,}")
    return items


@feedback_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, readable=True, help="A CSV file.")],
    batch_key: Annotated[str, typer.Option("--batch-key", help="The batch's key (a retry "
                                                               "with it is refused).")],
    source: Annotated[str, typer.Option("--source", help="Where the feedback comes from.")],
    subject: Actor = "cx.cli",
) -> None:
    """Record a CSV file of feedback items as one batch."""
    items = read_feedback_csv(file)

    def command(gov: Any, who: Any) -> Any:
        try:
            return gov.record_feedback(who, batch_key=batch_key, items=items, source=source)
        except InvalidInput as exc:
            found = _ITEM.match(exc.field or "")
            if found is None:
                raise
            raise fail(f"{file.name}:{int(found.group(1)) + 2}: {found.group(2) or 'row'}: "
                       f"{exc.message.split(': ', 1)[-1]}") from None

    _write(subject, command)


@feedback_app.command("list")
def list_command(
    metric: Annotated[str | None, typer.Option("--metric")] = None,
    scenario: Annotated[str | None, typer.Option("--scenario")] = None,
    job: Annotated[str | None, typer.Option("--job")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 100,
    as_of: AsOf = None, as_json: AsJson = False,
) -> None:
    """Feedback items, newest received first."""
    found: dict[str, Any] = read(lambda rm: rm.feedback(
        metric=metric, scenario=scenario, job=job, limit=limit, as_of=as_of)[1])
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    for f in found["items"]:
        tags = " ".join(f"{k}={f[k]}" for k in ("scenario", "job", "metric") if f.get(k))
        cited = f" cited by {', '.join(f['cited_by'])}" if f["cited_by"] else ""
        words = " ".join(f["verbatim"].split())
        typer.echo(f"{f['ref']} {f['received_on']} {f['channel']} {tags}{cited}: {words}")
    typer.echo(f"{found['total']} item(s)")


@feedback_app.command("cite")
def cite_command(
    period: Annotated[str, typer.Argument(help="The initiative's period, e.g. FY2027.")],
    code: Annotated[str, typer.Argument(help="The initiative's code, e.g. I05.")],
    refs: Annotated[list[str], typer.Argument(help="Items as <batch_key>/<n>.")],
    note: Annotated[str, typer.Option("--note", help="Why they matter.")] = "",
    subject: Actor = "cx.cli",
) -> None:
    """Cite feedback items as evidence behind an initiative."""
    _write(subject, lambda gov, who: gov.cite_feedback(
        who, initiative_id=gov.initiative_id(period, code), refs=refs, note=note))
