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

The phases a clock moves through need no event; a phase change a *person* makes is one
(`Rescheduled`, decision 200): closing intake now, opening decisions now (skipping the rest of
the review) or moving any deadline, each with a reason, carrying the schedule before and
after. What has happened stays happened: a changed time may not be before the clock; intake's
opening is fixed once intake has opened; intake's close and the review deadline are fixed once
decisions have begun (the decision deadline refuses nothing, so it may always move forward of
the clock). Reopening intake during the review is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import (
    InvalidInput,
    RoundChangeRefused,
    RoundClosedForReview,
    RoundNotInDecision,
    RoundOutsideIntake,
)
from domain.ids import natural_id
from domain.text import clean_text, optional_text

SCHEDULED: Final = "scheduled"
INTAKE: Final = "intake"
REVIEW: Final = "review"
DECISION: Final = "decision"
PHASES: Final = (SCHEDULED, INTAKE, REVIEW, DECISION)

FEASIBLE: Final = "feasible"
NEEDS_INFORMATION: Final = "needs_information"
VERDICTS: Final = (FEASIBLE, NEEDS_INFORMATION)
NOTE_MAX: Final = 2000

CLOSE_INTAKE: Final = "close_intake"
OPEN_DECISIONS: Final = "open_decisions"
RESCHEDULE: Final = "reschedule"
CHANGES: Final = (CLOSE_INTAKE, OPEN_DECISIONS, RESCHEDULE)
TIMES: Final = ("intake_opens", "intake_closes", "review_deadline", "decision_deadline")


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

    class Rescheduled(Aggregate.Event):
        """A person changed the round's schedule (decision 200): `change` says how
        (close_intake | open_decisions | reschedule); the four times are the schedule after,
        the `previous_*` ones the schedule before; `phase_before` the phase at `judged_at`
        (the service's clock when the change was made)."""

        TOPIC = "cxgov.FundingRound.Rescheduled"
        period: str
        change: str
        judged_at: datetime
        phase_before: str
        previous_intake_opens: datetime
        previous_intake_closes: datetime
        previous_review_deadline: datetime
        previous_decision_deadline: datetime
        intake_opens: datetime
        intake_closes: datetime
        review_deadline: datetime
        decision_deadline: datetime
        reason: str
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

    def schedule(self) -> dict[str, datetime]:
        """The four times, by name."""
        return {name: getattr(self, name) for name in TIMES}

    def close_intake(self, *, now: datetime, reason: str, actor: str) -> None:
        """Close intake now (later submissions are refused); only while intake is open."""
        phase = self.phase(now)
        if phase != INTAKE:
            raise RoundChangeRefused(
                f"intake can be closed only while it is open; {self.period} is in its {phase} "
                f"phase (intake {self.intake_opens.isoformat()} until "
                f"{self.intake_closes.isoformat()})", period=self.period, phase=phase,
                field="intake_closes")
        self.reschedule(now=now, change=CLOSE_INTAKE, times={"intake_closes": now},
                        reason=reason, actor=actor)

    def open_decisions(self, *, now: datetime, reason: str, actor: str) -> None:
        """End the review now (decisions may be taken from now); only during the review."""
        phase = self.phase(now)
        if phase != REVIEW:
            raise RoundChangeRefused(
                f"decisions can be opened early only during the review; {self.period} is in "
                f"its {phase} phase (review {self.intake_closes.isoformat()} until "
                f"{self.review_deadline.isoformat()})", period=self.period, phase=phase,
                field="review_deadline")
        self.reschedule(now=now, change=OPEN_DECISIONS, times={"review_deadline": now},
                        reason=reason, actor=actor)

    def reschedule(self, *, now: datetime, change: str, times: Mapping[str, datetime | None],
                   reason: str | None, actor: str) -> None:
        """Move any of the four times (those not given stay), with a reason (decision 200)."""
        if change not in CHANGES:
            raise InvalidInput(f"change must be one of {', '.join(CHANGES)}", field="change")
        why = clean_text(reason, field="reason", max_length=NOTE_MAX, multiline=True)
        before = self.schedule()
        after = {**before, **{k: v for k, v in times.items() if v is not None}}
        unknown = set(after) - set(TIMES)
        if unknown:
            raise InvalidInput(f"no such time: {', '.join(sorted(unknown))}", field="schedule")
        check_schedule(**after)
        moved = [name for name in TIMES if after[name] != before[name]]
        if not moved:
            raise InvalidInput("the schedule would not change", field="schedule")
        phase = self.phase(now)
        for name in moved:
            if after[name] < now:
                raise RoundChangeRefused(
                    f"{name} cannot move to {after[name].isoformat()}, before now "
                    f"({now.isoformat()}): what has happened stays happened",
                    period=self.period, phase=phase, field=name)
        if "intake_opens" in moved and phase != SCHEDULED:
            raise RoundChangeRefused(
                f"intake opened at {self.intake_opens.isoformat()}: its opening cannot move",
                period=self.period, phase=phase, field="intake_opens")
        for name in ("intake_closes", "review_deadline"):
            if name in moved and phase == DECISION:
                raise RoundChangeRefused(
                    f"decisions began at {self.review_deadline.isoformat()}: {name} cannot "
                    f"move any more (decisions may have been taken)", period=self.period,
                    phase=phase, field=name)
        self._rescheduled(period=self.period, change=change, judged_at=now,
                          phase_before=phase,
                          **{f"previous_{k}": v for k, v in before.items()}, **after,
                          reason=why, actor=actor)

    @event(Rescheduled)
    def _rescheduled(self, *, period: str, change: str, judged_at: datetime,
                     phase_before: str, previous_intake_opens: datetime,
                     previous_intake_closes: datetime, previous_review_deadline: datetime,
                     previous_decision_deadline: datetime, intake_opens: datetime,
                     intake_closes: datetime, review_deadline: datetime,
                     decision_deadline: datetime, reason: str, actor: str) -> None:
        self.intake_opens = intake_opens
        self.intake_closes = intake_closes
        self.review_deadline = review_deadline
        self.decision_deadline = decision_deadline
