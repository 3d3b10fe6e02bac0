"""Signals (what needs attention), their acknowledgement and resolution, and loop speed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from api.deps import (
    AsOf,
    IdempotencyKeyHeader,
    MinPosition,
    PrincipalDep,
    ServicesDep,
    at,
    keyed,
    written,
)
from api.routes.docs import READ, WRITE
from api.schemas import Code, LoopSpeedPublic, SignalAnswerCreate, SignalsPublic, WrittenPublic
from domain.signals import KINDS, STATES
from governance.principal import Principal
from governance.read_access import require_initiative_reader
from projections.loop_rows import SignalRow

router = APIRouter(prefix="/v1", tags=["signals"])
SignalKey = Annotated[str, Path(pattern=r"^[a-z_]{1,40}:[A-Za-z0-9._:-]{1,164}$",
                                examples=["metric_off_track:FY2027:M1"])]
Kind = Annotated[str | None, Query(pattern=f"^({'|'.join(KINDS)})$",
                                   description="Only signals of this kind.")]
State = Annotated[str | None, Query(pattern=f"^({'|'.join(STATES)})$",
                                    description="Only signals in this state.")]
Period = Annotated[Code | None, Query(description="Only this period's signals.")]


def for_role(who: Principal, rows: list[SignalRow]) -> list[SignalRow]:
    """The inbox order: the signals the caller's roles should act on first (stable)."""
    return sorted(rows, key=lambda s: 0 if who.has(s.role) else 1)


@router.get("/signals", response_model=SignalsPublic, responses=READ)
def list_signals(s: ServicesDep, who: PrincipalDep, period: Period = None, kind: Kind = None,
                 state: State = None, as_of: AsOf = None,
                 min_position: MinPosition = None) -> SignalsPublic:
    """Signals (open, acknowledged, resolved, closed), the caller's to act on first; time-based
    ones are evaluated at the wall clock live and at the time of the as-of position."""
    require_initiative_reader(who)
    view = s.models.loop(**at(s.models, as_of, min_position))
    rows = view.signals(period=period, kind=kind, state=state)
    return SignalsPublic(items=for_role(who, rows), position=view.position, now=view.now)


@router.post("/signals/{key}/acknowledge", response_model=WrittenPublic, responses=WRITE)
def acknowledge(key: SignalKey, body: SignalAnswerCreate, request: Request, s: ServicesDep,
                who: PrincipalDep, idem: IdempotencyKeyHeader = None) -> JSONResponse:
    """Acknowledge an open signal with a note (the role it names, or a CX executive); with
    `review`, recorded on that open review in the same transaction."""
    with keyed(s.gov, who, request, idem, body) as gov:
        result = gov.acknowledge_signal(who, key=key, note=body.note, review=body.review)
    return written(s.gov, result)


@router.post("/signals/{key}/resolve", response_model=WrittenPublic, responses=WRITE)
def resolve(key: SignalKey, body: SignalAnswerCreate, request: Request, s: ServicesDep,
            who: PrincipalDep, idem: IdempotencyKeyHeader = None) -> JSONResponse:
    """Resolve a signal with a note saying how; it closes even while its condition holds."""
    with keyed(s.gov, who, request, idem, body) as gov:
        result = gov.resolve_signal(who, key=key, note=body.note, review=body.review)
    return written(s.gov, result)


@router.get("/loop-speed", response_model=LoopSpeedPublic, responses=READ)
def loop_speed(s: ServicesDep, who: PrincipalDep, period: Period = None, as_of: AsOf = None,
               min_position: MinPosition = None) -> LoopSpeedPublic:
    """Time from a signal being raised to its first answer (acknowledgement, resolution, or a
    decision taken in a review on an initiative its evidence names): median and 90th
    percentile in seconds per period."""
    require_initiative_reader(who)
    view = s.models.loop(**at(s.models, as_of, min_position))
    return LoopSpeedPublic(items=view.loop_speed(period), answers=view.answers(period),
                           position=view.position)
