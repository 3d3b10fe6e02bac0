"""`cxgov spend|stop|descope|release-tranche PERIOD CODE ...`: money over time from the
command line.

`spend` runs as finance, `stop`, `descope` and `release-tranche` as a CX executive, each
named by `--as` (the actor recorded). Bulk spend comes from a file: `cxgov import-spend`
(spend_import.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

import typer

from domain.initiative import Initiative
from governance.app import Governance
from governance.entrypoints.common import fail, write_as
from governance.principal import CX_EXEC, FINANCE, Principal
from governance.unit_of_work import CommandResult

Period = Annotated[str, typer.Argument(help="Fiscal period, e.g. FY2027.")]
Code = Annotated[str, typer.Argument(help="The initiative's code, e.g. I05.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (required: comply or explain).")]


def _amount(value: str, name: str) -> Decimal:
    try:
        found = Decimal(value)
    except InvalidOperation:
        raise fail(f"{name} must be a decimal such as 250000.00, got {value!r}") from None
    if not found.is_finite():
        raise fail(f"{name} must be a finite decimal, got {value!r}")
    return found


def _write(subject: str, role: str,
           command: Callable[[Governance, Principal], CommandResult]) -> None:
    """Run a command with one role; print where it was written, or the refusal."""
    write_as(subject, role, command)


def spend_command(
    period: Period, code: Code,
    amount: Annotated[str, typer.Argument(help="The amount spent, e.g. 250000.00.")],
    on: Annotated[str, typer.Option("--on", help="The day it was spent (YYYY-MM-DD).")],
    reference: Annotated[str, typer.Option(help="Invoice or PO reference.")] = "",
    note: Annotated[str, typer.Option(help="A note.")] = "",
    subject: Annotated[str, typer.Option(
        "--as", help="Who records it (the actor, with the finance role).")] = "finance.cli",
) -> None:
    """Record a spend actual against approved or delivered work."""
    value = _amount(amount, "AMOUNT")
    try:
        day = date.fromisoformat(on)
    except ValueError:
        raise fail(f"--on must be a day such as 2027-03-31, got {on!r}") from None
    _write(subject, FINANCE, lambda gov, who: gov.record_spend(
        who, initiative_id=Initiative.create_id(period, code), amount=value, spent_on=day,
        reference=reference, note=note))


def stop_command(
    period: Period, code: Code, reason: Reason,
    subject: Annotated[str, typer.Option(
        "--as", help="Who acts (the actor, with the CX executive role).")] = "cx.cli",
) -> None:
    """Stop approved work: what is committed and not spent goes back to the pool."""
    _write(subject, CX_EXEC, lambda gov, who: gov.stop_initiative(
        who, initiative_id=Initiative.create_id(period, code), reason=reason))


def descope_command(
    period: Period, code: Code,
    new_cost: Annotated[str, typer.Argument(help="The new commitment (spent <= it < now).")],
    reason: Reason,
    subject: Annotated[str, typer.Option(
        "--as", help="Who acts (the actor, with the CX executive role).")] = "cx.cli",
) -> None:
    """Cut an approved or delivered initiative's commitment; the difference goes back to
    the pool."""
    value = _amount(new_cost, "NEW_COST")
    _write(subject, CX_EXEC, lambda gov, who: gov.descope_initiative(
        who, initiative_id=Initiative.create_id(period, code), new_cost=value, reason=reason))


def release_tranche_command(
    period: Period, code: Code,
    gate: Annotated[str, typer.Argument(help="The gate's name, as the approval named it.")],
    rationale: Annotated[str, typer.Option(
        "--rationale", help="Why (required when the current ranking would not fund it).")] = "",
    subject: Annotated[str, typer.Option(
        "--as", help="Who acts (the actor, with the CX executive role).")] = "cx.cli",
) -> None:
    """Release a gate's tranche of approved work (a decision: comply or explain, four eyes
    judged on the tranche, never beyond the pool)."""
    _write(subject, CX_EXEC, lambda gov, who: gov.release_tranche(
        who, initiative_id=Initiative.create_id(period, code), gate=gate, rationale=rationale))
