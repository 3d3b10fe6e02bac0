"""`cxgov policy ...`: show the scoring policy in force (as of any position) and adopt a new
version, its weights and guardrails (issue 16) included."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from domain.errors import InvalidInput
from domain.policy import GUARDRAIL_DIMENSIONS, Guardrail
from governance.entrypoints.common import fail, read, write_as
from governance.principal import CX_EXEC

policy_app = typer.Typer(no_args_is_help=True,
                         help="The scoring policy: show it, adopt a new version.")

BOUNDS = ("min_share", "max_share", "min_amount", "max_amount")
GUARDRAIL_HELP = (
    "DIMENSION:VALUE:BOUND=NUMBER[:BOUND=NUMBER], DIMENSION one of "
    f"{', '.join(GUARDRAIL_DIMENSIONS)}, BOUND one of {', '.join(BOUNDS)} (shares in [0, 1]); "
    "P&L CX is cross-P&L work; e.g. pnl:CX:min_share=0.25 or pnl:RB:max_amount=40000000. "
    "Repeat for more (at most 3); given, they replace the guardrails in force.")


def parse_guardrail(text: str) -> Guardrail:
    """A guardrail from DIMENSION:VALUE:BOUND=NUMBER[:BOUND=NUMBER]."""
    parts = text.split(":")
    if len(parts) < 3 or not parts[0] or not parts[1]:
        raise InvalidInput(f"a guardrail is DIMENSION:VALUE:BOUND=NUMBER, got {text!r}",
                           field="guardrails")
    bounds: dict[str, Decimal] = {}
    for part in parts[2:]:
        name, sep, number = part.partition("=")
        if not sep or name not in BOUNDS or name in bounds:
            raise InvalidInput(f"guardrail {parts[0]} {parts[1]}: each bound is one of "
                               f"{', '.join(BOUNDS)}=NUMBER, once, got {part!r}",
                               field="guardrails")
        try:
            bounds[name] = Decimal(number)
        except InvalidOperation:
            raise InvalidInput(f"guardrail {parts[0]} {parts[1]}: {name} must be a decimal "
                               f"number, got {number!r}", field="guardrails") from None
    return Guardrail(parts[0], parts[1], **bounds)


def _weights(values: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for value in values:
        code, sep, points = value.partition("=")
        if not sep or not points.strip().isdigit():
            raise fail(f"--weight takes METRIC=POINTS (whole points), got {value!r}")
        found[code.strip()] = int(points)
    return found


@policy_app.command("adopt")
def adopt(
    rationale: Annotated[str, typer.Option(help="Why this version.")],
    weight: Annotated[list[str] | None, typer.Option(
        help="METRIC=POINTS (sum 100); repeat for each metric. Default: the weights in force.",
        show_default=False)] = None,
    guardrail: Annotated[list[str] | None, typer.Option(help=GUARDRAIL_HELP,
                                                        show_default=False)] = None,
    no_guardrails: Annotated[bool, typer.Option(
        "--no-guardrails", help="Adopt without guardrails.")] = False,
    subject: Annotated[str, typer.Option(
        "--as", help="Who acts (recorded as the actor, with the CX executive role).")
    ] = "cx.cli",
) -> None:
    """Adopt the next policy version: the terms in force with the weights and guardrails
    given. Guardrails that cannot hold in an open period are refused, naming the conflict."""
    if guardrail and no_guardrails:
        raise fail("give --guardrail or --no-guardrails, not both")
    try:
        rails = None if guardrail is None else tuple(parse_guardrail(g) for g in guardrail)
    except InvalidInput as exc:
        raise fail(f"[{exc.code}] {exc.message}") from None
    weights = _weights(weight) if weight else None

    def command(gov: Any, who: Any) -> Any:
        _, terms = gov.policy_terms()
        if weights is not None:
            terms = terms.with_weights(weights)
        if rails is not None or no_guardrails:
            terms = replace(terms, guardrails=rails or ())
        return gov.adopt_policy(who, terms=terms, rationale=rationale)

    write_as(subject, CX_EXEC, command)


def _bound(share: str | None, amount: str | None) -> str:
    if share is not None:
        return f"{(Decimal(share) * 100).normalize():f}% of the pool"
    return f"{Decimal(amount or 0):,}"


def render_policy(row: dict[str, Any]) -> str:
    """The policy as lines: version, weights, guardrails."""
    terms = row["terms"]
    lines = [f"policy v{row['version']} adopted by {row['actor']} at {row['at']}",
             f"rationale: {row['rationale']}",
             "weights: " + ", ".join(f"{k}={v}" for k, v in sorted(terms["weights"].items())),
             f"four-eyes threshold: {Decimal(terms['four_eyes_threshold']):,}"]
    rails = terms.get("guardrails") or []
    if not rails:
        lines.append("guardrails: none")
    for g in rails:
        said = []
        if g.get("min_share") is not None or g.get("min_amount") is not None:
            said.append(f"at least {_bound(g.get('min_share'), g.get('min_amount'))}")
        if g.get("max_share") is not None or g.get("max_amount") is not None:
            said.append(f"at most {_bound(g.get('max_share'), g.get('max_amount'))}")
        lines.append(f"guardrail {g['dimension']} {g['value']}: {' and '.join(said)}")
    return "\n".join(lines)


@policy_app.command("show")
def show(
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="A log position, or an ISO 8601 UTC time: the policy then.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")
                       ] = False,
) -> None:
    """The policy in force: version, weights and guardrails."""
    found = read(lambda rm: rm.snapshot(as_of).policy())
    if found is None:
        raise fail("no scoring policy has been adopted yet")
    typer.echo(json.dumps(found, indent=2) if as_json else render_policy(found))
