"""Funding rounds (issue 16, part 4): open a period's round, mark submissions' feasibility,
change its phase by hand (close intake, open decisions, move deadlines: decision 200), read
the round's phase, deadlines and changes (live or as of a position)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
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
from api.schemas import (
    CODE_PATTERN,
    FeasibilityMarkCreate,
    RoundChangeCreate,
    RoundCreate,
    RoundPublic,
    RoundReschedule,
    WrittenPublic,
)
from domain.rounds import CLOSE_INTAKE, OPEN_DECISIONS, RESCHEDULE
from governance.principal import Principal
from governance.read_access import SEE_ALL_INITIATIVES
from projections.rounds import RoundView

router = APIRouter(prefix="/v1", tags=["rounds"])
PeriodCode = Annotated[str, Path(pattern=CODE_PATTERN, examples=["FY2027"])]


def visible_marks(principal: Principal, found: RoundView) -> RoundView:
    """The round as `principal` may read it: the schedule for every reader; feasibility
    marks whole for CX executives, finance and auditors, else only those of the reader's
    own P&Ls (a P&L owner reads what is asked of their submissions)."""
    if principal.has(*SEE_ALL_INITIATIVES):
        return found
    return found.model_copy(update={"feasibility": [
        m for m in found.feasibility if m.pnl is not None and m.pnl in principal.pnls]})


@router.post("/periods/{code}/round", status_code=201, response_model=WrittenPublic,
             responses=WRITE)
def open_round(code: PeriodCode, body: RoundCreate, request: Request, s: ServicesDep,
               who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Open the period's funding round with its schedule (finance or CX executive; one per
    period). From then on submissions are refused outside the intake window
    (`round.outside_intake`) and decisions before the decision phase
    (`round.not_in_decision`)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.open_round(who, period=code, intake_opens=body.intake_opens,
                                intake_closes=body.intake_closes,
                                review_deadline=body.review_deadline,
                                decision_deadline=body.decision_deadline)
    return written(s.gov, result, status=201, location=f"/v1/periods/{code}/round")


@router.post("/periods/{code}/round/feasibility", status_code=201,
             response_model=WrittenPublic, responses=WRITE)
def mark_feasibility(code: PeriodCode, body: FeasibilityMarkCreate, request: Request,
                     s: ServicesDep, who: PrincipalDep,
                     key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Mark a submission feasible or needing information, with a note (finance or CX
    executive), from intake opening until the review deadline (`round.review_closed`
    otherwise); a later mark replaces an earlier one."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.mark_feasibility(who, period=code, code=body.code, verdict=body.verdict,
                                      note=body.note)
    return written(s.gov, result, status=201, location=f"/v1/periods/{code}/round")


@router.post("/periods/{code}/round/close-intake", status_code=201,
             response_model=WrittenPublic, responses=WRITE)
def close_intake(code: PeriodCode, body: RoundChangeCreate, request: Request, s: ServicesDep,
                 who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Close the round's intake now, with a reason (CX executive; decision 200): later
    submissions are refused. Only while intake is open (`round.change_refused` otherwise)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.change_round(who, period=code, change=CLOSE_INTAKE, reason=body.reason)
    return written(s.gov, result, status=201, location=f"/v1/periods/{code}/round")


@router.post("/periods/{code}/round/open-decisions", status_code=201,
             response_model=WrittenPublic, responses=WRITE)
def open_decisions(code: PeriodCode, body: RoundChangeCreate, request: Request,
                   s: ServicesDep, who: PrincipalDep,
                   key: IdempotencyKeyHeader = None) -> JSONResponse:
    """End the feasibility review now and open decisions, with a reason (CX executive;
    decision 200). Only during the review (`round.change_refused` otherwise)."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.change_round(who, period=code, change=OPEN_DECISIONS, reason=body.reason)
    return written(s.gov, result, status=201, location=f"/v1/periods/{code}/round")


@router.post("/periods/{code}/round/schedule", status_code=201,
             response_model=WrittenPublic, responses=WRITE)
def reschedule(code: PeriodCode, body: RoundReschedule, request: Request, s: ServicesDep,
               who: PrincipalDep, key: IdempotencyKeyHeader = None) -> JSONResponse:
    """Move any of the round's times, with a reason (CX executive; decision 200); those
    left out stay. The new schedule must be in order (`validation.invalid`) and change
    something; no time may move before now, intake's opening is fixed once intake opened,
    and intake's close and the review deadline once decisions began
    (`round.change_refused`). Reopening intake during the review is allowed."""
    with keyed(s.gov, who, request, key, body) as gov:
        result = gov.change_round(who, period=code, change=RESCHEDULE, reason=body.reason,
                                  intake_opens=body.intake_opens,
                                  intake_closes=body.intake_closes,
                                  review_deadline=body.review_deadline,
                                  decision_deadline=body.decision_deadline)
    return written(s.gov, result, status=201, location=f"/v1/periods/{code}/round")


@router.get("/periods/{code}/round", response_model=RoundPublic, responses=READ)
def read_round(code: PeriodCode, s: ServicesDep, who: PrincipalDep, as_of: AsOf = None,
               min_position: MinPosition = None) -> RoundPublic:
    """The period's funding round: its phase (scheduled, intake, review, decision), the
    deadlines, the phase changes people made (`changes`: who, when, why, the schedule before
    and after), and the feasibility marks the caller may read (every authenticated caller).
    Live, the phase is judged at the service's clock; as of a position, at the time of the
    event there. `item` is null when the period runs no round (then); 404
    `period.not_found` when there is no such period."""
    position, found = s.models.funding_round(code, now=s.gov.clock(),
                                             **at(s.models, as_of, min_position))
    return RoundPublic(item=visible_marks(who, found) if found is not None else None,
                       position=position)
