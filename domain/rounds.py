"""Funding rounds (issue 16, part 4): a period may run its budget in phases, as CONSUL does.

A round fixes four times when it is opened: intake opens, intake closes, the feasibility
review's deadline and the decision deadline. The phase is *derived* from those times and the
clock (`phase_at`), never stored: a phase change needs no scheduler and no event, and the
phase at any past position is the phase at that position's time. The windows are half-open,
`[start, end)`, each start inclusive and each end exclusive:

- `scheduled`: before intake opens;
- `intake`:    intake_opens <= now < intake_closes: submissions are accepted;
- `review`:    intake_closes <= now < review_deadline: finance or a CX executive marks each
  submission feasible or "needs information", with a note;
- `decision`:  review_deadline <= now: decisions are taken. The decision deadline is shown
  (`overdue` once it has passed) but refuses nothing: refusing decisions after it would
  strand the pool's money.

Feasibility may be marked from intake opening until the review deadline (exclusive); a later
mark replaces an earlier one for the same initiative (both stay in the log).
A period without a round behaves exactly as before: nothing here is consulted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    InvalidInput,
    RoundClosedForReview,
    RoundNotInDecision,
    RoundOutsideIntake,
)
from domain.ids import natural_id
from domain.text import optional_text

SCHEDULED: Final = "scheduled"
INTAKE: Final = "intake"
REVIEW: Final = "review"
DECISION: Final = "decision"
PHASES: Final = (SCHEDULED, INTAKE, REVIEW, DECISION)

FEASIBLE: Final = "feasible"
NEEDS_INFORMATION: Final = "needs_information"
VERDICTS: Final = (FEASIBLE, NEEDS_INFORMATION)
NOTE_MAX: Final = 2000


def _aware(value: datetime, *, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} must be a time with a UTC offset", field=field)
    return value


def check_schedule(*, intake_opens: datetime, intake_closes: datetime,
                   review_deadline: datetime, decision_deadline: datetime) -> None:
    """Four aware times in order: intake opens < intake closes <= review deadline <=
    decision deadline (the review may be empty; the intake may not)."""
    _aware(intake_opens, field="intake_opens")
    _aware(intake_closes, field="intake_closes")
    _aware(review_deadline, field="review_deadline")
    _aware(decision_deadline, field="decision_deadline")
    if not intake_opens < intake_closes:
        raise InvalidInput("intake must close after it opens", field="intake_closes")
    if not intake_closes <= review_deadline:
        raise InvalidInput("the review deadline must not be before intake closes",
                           field="review_deadline")
    if not review_deadline <= decision_deadline:
        raise InvalidInput("the decision deadline must not be before the review deadline",
                           field="decision_deadline")


def phase_at(now: datetime, *, intake_opens: datetime, intake_closes: datetime,
             review_deadline: datetime) -> str:
    """The phase at `now` (each window's start inclusive, its end exclusive)."""
    if now < intake_opens:
        return SCHEDULED
    if now < intake_closes:
        return INTAKE
    if now < review_deadline:
        return REVIEW
    return DECISION


class FundingRound(Aggregate):
    """A period's funding round: its schedule and its feasibility marks."""

    TOPIC = "cxgov.FundingRound"

    class Created(Aggregate.Created):
        TOPIC = "cxgov.FundingRound.Created"

    class Opened(Created):
        TOPIC = "cxgov.FundingRound.Opened"
        period: str
        intake_opens: datetime
        intake_closes: datetime
        review_deadline: datetime
        decision_deadline: datetime
        actor: str

    class FeasibilityMarked(Aggregate.Event):
        TOPIC = "cxgov.FundingRound.FeasibilityMarked"
        period: str
        initiative_id: UUID
        code: str
        pnl: str | None  # the initiative's P&L (None: cross-P&L), for who may read the mark
        verdict: str
        note: str
        actor: str

    @staticmethod
    def create_id(period: str) -> UUID:
        """One round per period: its id is derived from the period."""
        return natural_id("round", period)

    @classmethod
    def open(cls, *, period: str, intake_opens: datetime, intake_closes: datetime,
             review_deadline: datetime, decision_deadline: datetime,
             actor: str) -> FundingRound:
        """Open a round with its schedule (checked)."""
        check_schedule(intake_opens=intake_opens, intake_closes=intake_closes,
                       review_deadline=review_deadline, decision_deadline=decision_deadline)
        opened: FundingRound = cls(period=period, intake_opens=intake_opens,
                                   intake_closes=intake_closes,
                                   review_deadline=review_deadline,
                                   decision_deadline=decision_deadline, actor=actor)
        return opened

    @event(Opened)
    def __init__(self, *, period: str, intake_opens: datetime, intake_closes: datetime,
                 review_deadline: datetime, decision_deadline: datetime, actor: str) -> None:
        self.period = period
        self.intake_opens = intake_opens
        self.intake_closes = intake_closes
        self.review_deadline = review_deadline
        self.decision_deadline = decision_deadline
        self.marks: dict[str, str] = {}  # initiative code -> verdict

    def phase(self, now: datetime) -> str:
        """The phase at `now`."""
        return phase_at(now, intake_opens=self.intake_opens, intake_closes=self.intake_closes,
                        review_deadline=self.review_deadline)

    def check_intake(self, now: datetime) -> None:
        """Refuse a submission outside the intake window."""
        phase = self.phase(now)
        if phase != INTAKE:
            raise RoundOutsideIntake(
                f"{self.period} takes submissions from {self.intake_opens.isoformat()} until "
                f"{self.intake_closes.isoformat()} (exclusive); the round is in its "
                f"{phase} phase", period=self.period, phase=phase,
                intake_opens=self.intake_opens.isoformat(),
                intake_closes=self.intake_closes.isoformat())

    def check_decision(self, now: datetime) -> None:
        """Refuse a decision before the decision phase."""
        phase = self.phase(now)
        if phase != DECISION:
            raise RoundNotInDecision(
                f"{self.period} decides from {self.review_deadline.isoformat()}; the round "
                f"is in its {phase} phase", period=self.period, phase=phase,
                decisions_from=self.review_deadline.isoformat())

    def mark(self, *, initiative_id: UUID, code: str, pnl: str | None, verdict: str,
             note: str | None, now: datetime, actor: str) -> None:
        """Mark a submission feasible or needing information (a note is required for the
        latter), from intake opening until the review deadline (exclusive)."""
        if verdict not in VERDICTS:
            raise InvalidInput(f"verdict must be one of {', '.join(VERDICTS)}", field="verdict")
        text = optional_text(note, field="note", max_length=NOTE_MAX)
        if verdict == NEEDS_INFORMATION and not text:
            raise InvalidInput("say what information is needed", field="note")
        phase = self.phase(now)
        if phase not in (INTAKE, REVIEW):
            raise RoundClosedForReview(
                f"{self.period} reviews feasibility from {self.intake_opens.isoformat()} "
                f"until {self.review_deadline.isoformat()} (exclusive); the round is in its "
                f"{phase} phase", period=self.period, phase=phase)
        self._marked(period=self.period, initiative_id=initiative_id, code=code, pnl=pnl,
                     verdict=verdict, note=text, actor=actor)

    @event(FeasibilityMarked)
    def _marked(self, *, period: str, initiative_id: UUID, code: str, pnl: str | None,
                verdict: str, note: str, actor: str) -> None:
        self.marks[code] = verdict
