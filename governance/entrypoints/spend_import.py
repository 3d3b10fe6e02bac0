"""`cxgov import-spend FILE.csv`: spend actuals from a finance system's export.

Columns (a header row; docs/operator-guide.md "Spend actuals"): period, initiative (its
code), amount, spent_on (YYYY-MM-DD), and optional reference and note. Every row is checked
first, and a bad row refuses the whole file naming its line. The rows are then recorded
through `record_spend_batch`, 1,000 per transaction (all or nothing each), in file order.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from domain.errors import CxgovError
from domain.initiative import Initiative
from governance.app import Governance
from governance.entrypoints.csv_import import CsvImportError, RowError
from governance.fields import LongText, OptionalLine
from governance.principal import FINANCE, Principal
from governance.usecases.finance import SpendItem

COLUMNS = ("period", "initiative", "amount", "spent_on", "reference", "note")
REQUIRED = ("period", "initiative", "amount", "spent_on")
CHUNK = 1_000  # rows per transaction: the bulk call's limit


def _amount(value: object) -> Decimal:
    if not isinstance(value, str):
        raise ValueError("must be a decimal such as 1250000.00")
    try:
        amount = Decimal(value)
    except ArithmeticError:
        raise ValueError("must be a decimal such as 1250000.00") from None
    if not amount.is_finite():
        raise ValueError("must be a finite decimal")
    return amount


class SpendRowIn(BaseModel):
    """One row of a spend file."""

    model_config = ConfigDict(extra="forbid")

    period: Annotated[str, BeforeValidator(str.strip)]
    initiative: Annotated[str, BeforeValidator(str.strip)]
    amount: Annotated[Decimal, BeforeValidator(_amount)]
    spent_on: date
    reference: OptionalLine = ""
    note: LongText = ""


@dataclass(frozen=True)
class SpendLine:
    """A checked row and the line it came from."""

    line: int
    item: SpendItem


def parse_spend_csv(path: Path) -> list[SpendLine]:
    """Every row checked; raise CsvImportError naming each bad line (nothing is written)."""
    errors: list[RowError] = []
    lines: list[SpendLine] = []
    name = path.name
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED if c not in header]
        unknown = [c for c in header if c not in COLUMNS]
        if missing or unknown:
            reason = "; ".join(filter(None, [
                f"missing column(s) {', '.join(missing)}" if missing else "",
                f"unknown column(s) {', '.join(unknown)}" if unknown else ""]))
            raise CsvImportError([RowError(name, 1, f"{reason}; expected {', '.join(COLUMNS)}")])
        for record in reader:
            line = reader.line_num
            if None in record:
                errors.append(RowError(name, line, "more cells than header columns"))
                continue
            data = {k.strip(): (v or "") for k, v in record.items() if k}
            data = {k: v for k, v in data.items() if v.strip() or k in REQUIRED}
            try:
                row = SpendRowIn.model_validate(data)
            except ValidationError as exc:
                for problem in exc.errors(include_url=False):
                    where = ".".join(str(p) for p in problem["loc"]) or "row"
                    errors.append(RowError(name, line, f"{where}: {problem['msg']}"))
                continue
            lines.append(SpendLine(line, SpendItem(
                initiative_id=Initiative.create_id(row.period, row.initiative),
                amount=row.amount, spent_on=row.spent_on, reference=row.reference,
                note=row.note)))
    if not lines and not errors:
        errors.append(RowError(name, 2, "no spend rows"))
    if errors:
        raise CsvImportError(errors)
    return lines


def import_spend(gov: Governance, principal: Principal, lines: list[SpendLine], *,
                 file: str = "spend.csv",
                 progress: Callable[[int], None] = lambda _n: None) -> tuple[int, int]:
    """Record the lines, `CHUNK` per transaction; (rows written, last position). A refused
    chunk raises CsvImportError naming its line (earlier chunks stay written)."""
    written, position = 0, gov.position()
    for start in range(0, len(lines), CHUNK):
        chunk = lines[start:start + CHUNK]
        try:
            result = gov.record_spend_batch(principal, items=[s.item for s in chunk])
        except CxgovError as exc:
            raise CsvImportError([_row_error(exc, chunk, written, file)]) from None
        written += len(chunk)
        position = result.position
        progress(len(chunk))
    return written, position


def _row_error(exc: CxgovError, chunk: list[SpendLine], written: int, file: str) -> RowError:
    field = str(exc.details.get("field") or "")
    line = 0
    if field.startswith("items."):
        index = int(field.split(".")[1])
        line = chunk[index].line
    message = exc.message.split(": ", 1)[-1] if field.startswith("items.") else exc.message
    kept = f" ({written} earlier row(s) were recorded)" if written else ""
    return RowError(file, line, f"[{exc.code}] {message}{kept}")


def import_spend_command(
    file: Annotated[Path, typer.Argument(help="A spend CSV: period, initiative, amount, "
                                              "spent_on[, reference, note].",
                                         exists=True, readable=True, dir_okay=False)],
    subject: Annotated[str, typer.Option(
        "--as", help="Who records the spend (recorded as the actor, with the finance role).")
    ] = "finance.import",
) -> None:
    """Record spend actuals from a CSV file (all rows checked first; 1,000 per transaction)."""
    from governance.entrypoints.common import fail, runtime

    try:
        lines = parse_spend_csv(file)
    except CsvImportError as exc:
        raise fail(str(exc)) from None
    with runtime() as rt:
        principal = Principal(subject=subject, roles=frozenset({FINANCE}),
                              issuer=rt.settings.jwt_issuer)
        try:
            written, position = import_spend(rt.app, principal, lines, file=file.name)
        except CsvImportError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"recorded {written} spend actual(s) from {file.name}; log position {position}")
