"""Funding rounds on the read side (issue 16, part 4): a period's round, its phase at a time,
its deadlines and its feasibility marks.

The fold keeps each round as a plain value in the state's core (`PortfolioState.rounds`, by
period; the handlers below are registered into the portfolio fold). The phase is derived from
the schedule and a time (domain/rounds.py `phase_at`): live, the caller's clock; as of a
position, the time of the event there. A phase change a person makes
(`FundingRound.Rescheduled`, decision 200) replaces the schedule from its position on and is
listed in the round's `changes` (who, when, why, the schedule before and after).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from domain.rounds import (
    DECISION,
    INTAKE,
    REVIEW,
    SCHEDULED,
    TIMES,
    FundingRound,
    phase_at,
)
from projections.rows import ReadRow, TimeText

if TYPE_CHECKING:
    from projections.state import PortfolioState


class FeasibilityRow(ReadRow):
    """A submission's latest feasibility mark (every mark is in the audit log)."""

    code: str
    pnl: str | None = Field(description="The initiative's P&L (None: cross-P&L).")
    verdict: str = Field(description="feasible | needs_information")
    note: str
    marked_by: str
    marked_at: TimeText
    position: int
    marks: int = Field(description="How many times it was marked (the latest counts).")


class RoundChangeRow(ReadRow):
    """A phase change a person made (decision 200): the schedule before and after."""

    change: str = Field(description="close_intake | open_decisions | reschedule")
    phase_before: str = Field(description="The phase when the change was made.")
    judged_at: TimeText = Field(description="The service's clock when the change was made.")
    reason: str
    changed_by: str
    changed_at: TimeText
    position: int
    moved: list[str] = Field(description="The times that moved, in schedule order.")
    before: dict[str, TimeText]
    after: dict[str, TimeText]


class PhaseRow(ReadRow):
    """One phase of the round and its window: [starts, ends), ends None for the last."""

    phase: str
    starts: TimeText
    ends: TimeText | None


class RoundView(ReadRow):
    """A period's funding round: the phase at `at`, the schedule, the feasibility marks."""

    period: str
    at: TimeText = Field(description="The time the phase is judged at: the clock live, the "
                                     "time of the event at the position as of a position.")
    phase: str = Field(description="scheduled | intake | review | decision (derived from the "
                                   "schedule; each window's start inclusive, end exclusive).")
    accepts_submissions: bool
    accepts_decisions: bool
    intake_opens: TimeText
    intake_closes: TimeText
    review_deadline: TimeText
    decision_deadline: TimeText
    overdue: bool = Field(description="The decision deadline has passed (it refuses nothing).")
    next_deadline: TimeText | None = Field(description="When the current phase ends (the "
                                                       "decision deadline in the decision "
                                                       "phase, None once it has passed).")
    phases: list[PhaseRow]
    feasibility: list[FeasibilityRow]
    opened_by: str
    opened_at: TimeText
    changes: list[RoundChangeRow] = Field(
        default_factory=list, description="Phase changes people made, oldest first.")


def _opened(s: PortfolioState, e: FundingRound.Opened) -> set[str]:
    s.rounds[e.period] = {
        "period": e.period, "intake_opens": e.intake_opens, "intake_closes": e.intake_closes,
        "review_deadline": e.review_deadline, "decision_deadline": e.decision_deadline,
        "opened_by": e.actor, "opened_at": e.timestamp, "marks": {}, "changes": []}
    return set()


def _rescheduled(s: PortfolioState, e: FundingRound.Rescheduled) -> set[str]:
    found = s.rounds.get(e.period)
    if found is not None:
        before = {k: getattr(e, f"previous_{k}") for k in TIMES}
        after = {k: getattr(e, k) for k in TIMES}
        change = {"change": e.change, "phase_before": e.phase_before,
                  "judged_at": e.judged_at, "reason": e.reason, "changed_by": e.actor,
                  "changed_at": e.timestamp, "position": s.position, "before": before,
                  "after": after}
        s.rounds[e.period] = {**found, **after,
                              "changes": [*found.get("changes", []), change]}
    return set()


def _marked(s: PortfolioState, e: FundingRound.FeasibilityMarked) -> set[str]:
    found = s.rounds.get(e.period)
    if found is not None:
        before = found["marks"].get(e.code)
        found["marks"][e.code] = {
            "code": e.code, "pnl": e.pnl, "verdict": e.verdict, "note": e.note,
            "marked_by": e.actor,
            "marked_at": e.timestamp, "position": s.position,
            "marks": (before["marks"] if before else 0) + 1}
    return set()


ROUND_HANDLERS: dict[type, Any] = {FundingRound.Opened: _opened,
                                   FundingRound.FeasibilityMarked: _marked,
                                   FundingRound.Rescheduled: _rescheduled}


def round_view(state: PortfolioState, period: str, now: datetime) -> RoundView | None:
    """The period's round as of `state`, its phase judged at `now` (None: no round)."""
    found = state.rounds.get(period)
    if found is None:
        return None
    opens, closes = found["intake_opens"], found["intake_closes"]
    review, deadline = found["review_deadline"], found["decision_deadline"]
    phase = phase_at(now, intake_opens=opens, intake_closes=closes, review_deadline=review)
    ends = {SCHEDULED: opens, INTAKE: closes, REVIEW: review,
            DECISION: deadline if now < deadline else None}[phase]
    return RoundView(
        period=period, at=_time(now), phase=phase, accepts_submissions=phase == INTAKE,
        accepts_decisions=phase == DECISION, intake_opens=_time(opens),
        intake_closes=_time(closes), review_deadline=_time(review),
        decision_deadline=_time(deadline), overdue=now >= deadline,
        next_deadline=_time(ends) if ends is not None else None,
        phases=[PhaseRow(phase=INTAKE, starts=_time(opens), ends=_time(closes)),
                PhaseRow(phase=REVIEW, starts=_time(closes), ends=_time(review)),
                PhaseRow(phase=DECISION, starts=_time(review), ends=None)],
        feasibility=[FeasibilityRow(
            code=m["code"], pnl=m["pnl"], verdict=m["verdict"], note=m["note"],
            marked_by=m["marked_by"],
            marked_at=_time(m["marked_at"]), position=m["position"], marks=m["marks"])
            for _, m in sorted(found["marks"].items())],
        opened_by=found["opened_by"], opened_at=_time(found["opened_at"]),
        changes=[RoundChangeRow(
            change=c["change"], phase_before=c["phase_before"],
            judged_at=_time(c["judged_at"]), reason=c["reason"], changed_by=c["changed_by"],
            changed_at=_time(c["changed_at"]), position=c["position"],
            moved=[k for k in TIMES if c["before"][k] != c["after"][k]],
            before={k: _time(v) for k, v in c["before"].items()},
            after={k: _time(v) for k, v in c["after"].items()})
            for c in found.get("changes", [])])


def _time(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
