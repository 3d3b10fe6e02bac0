"""The loop's read rows (issue 14): signals, reviews, loop speed and benefit plans, and the
view that renders them from one fold state at one `now` (live: the wall clock; as of a
position: the time of the event there)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from projections import signals as detectors
from projections.codec import plain
from projections.rows import DayText, DecimalText, ReadRow, TimeText
from projections.state import PortfolioState


class InitiativeLink(ReadRow):
    """An initiative named in a signal's evidence."""

    id: str
    code: str
    period: str
    status: str


class ReadingRef(ReadRow):
    """A monthly reading behind a signal."""

    month: str
    value: DecimalText
    sample_size: int | None
    observed_at: TimeText


class Evidence(ReadRow):
    """What a signal rests on."""

    metric: str | None
    initiatives: list[InitiativeLink]
    readings: list[ReadingRef]
    detail: str


class SignalNoteRow(ReadRow):
    """An acknowledgement or resolution of a signal's raise."""

    act: str
    raised_at: TimeText
    period: str | None
    note: str
    review: str | None
    actor: str
    at: TimeText
    position: int


class SignalRow(ReadRow):
    """Something that needs someone's attention."""

    key: str
    kind: str
    severity: str
    state: str
    since: TimeText
    period: str | None
    role: str
    title: str
    evidence: Evidence
    notes: list[SignalNoteRow]


class LoopAnswer(ReadRow):
    """One answered raise: from the signal to its first answer."""

    key: str
    period: str | None
    raised_at: TimeText
    answered_at: TimeText
    answered_by: str
    seconds: DecimalText


class LoopSpeed(ReadRow):
    """Loop time per period (seconds): median and 90th percentile (nearest rank)."""

    period: str
    answered: int
    median_seconds: DecimalText
    p90_seconds: DecimalText


class ReviewSignal(ReadRow):
    """A signal open when a review opened."""

    key: str
    kind: str
    since: TimeText
    initiatives: list[str]


class ReviewItem(ReadRow):
    """An act taken in a review."""

    item: str
    signal: str | None
    initiative: str | None
    answers: list[str]
    note: str
    actor: str
    at: TimeText
    position: int


class ReviewRow(ReadRow):
    """A review: what it opened on, what was done in it, its minutes."""

    id: str
    period: str
    title: str
    position: int
    opened_position: int
    opened_by: str
    opened_at: TimeText
    signals: list[ReviewSignal]
    ranking: list[str]
    items: list[ReviewItem]
    closed: bool
    minutes: str | None
    closed_by: str | None
    closed_at: TimeText | None


class PlanPoint(ReadRow):
    """A promised value by a date, with what was read by then."""

    metric: str
    by: DayText
    expected: DecimalText
    due: bool
    actual: DecimalText | None
    actual_month: str | None
    realisation: DecimalText | None


class BenefitPlanRow(ReadRow):
    """An initiative's benefit owner, trajectory and realisation so far."""

    initiative_id: str
    period: str
    code: str
    owner: str
    planned_by: str
    planned_at: TimeText
    points: list[PlanPoint]
    revisions: int
    at_risk: list[str]


class LoopView:
    """Signals, reviews, loop speed and benefit plans of one state at one time."""

    def __init__(self, state: PortfolioState, now: datetime) -> None:
        self.state = state
        self.now = now
        self.position = state.position
        self._signals: list[dict[str, Any]] | None = None

    def detected(self) -> list[dict[str, Any]]:
        if self._signals is None:
            self._signals = detectors.signals(self.state, self.now)
        return self._signals

    def signals(self, *, period: str | None = None, kind: str | None = None,
                state: str | None = None, role: str | None = None) -> list[SignalRow]:
        """Signals, filtered (a period filter keeps the period's signals)."""
        return [SignalRow.model_validate(plain(s)) for s in self.detected()
                if (period is None or s["period"] == period)
                and (kind is None or s["kind"] == kind)
                and (state is None or s["state"] == state)
                and (role is None or s["role"] == role)]

    def open_signal(self, key: str) -> dict[str, Any] | None:
        """A detected signal (open or acknowledged) by key."""
        return next((s for s in self.detected() if s["key"] == key
                     and s["state"] in ("open", "acknowledged")), None)

    def open_counts(self) -> dict[str, int]:
        """Open (or acknowledged, not resolved) signals by kind."""
        counts: dict[str, int] = {}
        for s in self.detected():
            if s["state"] in ("open", "acknowledged"):
                counts[s["kind"]] = counts.get(s["kind"], 0) + 1
        return counts

    def reviews(self, period: str | None = None) -> list[ReviewRow]:
        """Reviews in the order they were opened."""
        return [ReviewRow.model_validate(plain(r)) for r in self.state.reviews.values()
                if period is None or r["period"] == period]

    def review(self, review_id: str) -> ReviewRow | None:
        """One review."""
        found = self.state.reviews.get(review_id)
        return ReviewRow.model_validate(plain(found)) if found is not None else None

    def answers(self, period: str | None = None) -> list[LoopAnswer]:
        """Every answered raise."""
        return [LoopAnswer.model_validate(plain(a)) for a in detectors.answers(self.state)
                if period is None or a["period"] == period]

    def loop_speed(self, period: str | None = None) -> list[LoopSpeed]:
        """Median and p90 loop time per period."""
        return [LoopSpeed.model_validate(plain(r))
                for r in detectors.loop_speed(self.state, period)]

    def benefit_plans(self, period: str | None = None) -> list[BenefitPlanRow]:
        """Benefit plans with their realisation, in initiative order."""
        risky: dict[str, list[str]] = {}
        for s in self.detected():
            if s["kind"] == "benefit_at_risk":
                for i in s["evidence"]["initiatives"]:
                    risky.setdefault(i["id"], []).append(s["evidence"]["metric"])
        rows = []
        keep = set(PlanPoint.model_fields)
        for plan in sorted(self.state.benefit_plans.values(),
                           key=lambda p: (p["period"], p["code"])):
            if period is not None and plan["period"] != period:
                continue
            rows.append(BenefitPlanRow.model_validate(plain({
                "initiative_id": plan["initiative_id"], "period": plan["period"],
                "code": plan["code"], "owner": plan["owner"], "planned_by": plan["planned_by"],
                "planned_at": plan["planned_at"],
                "points": [{k: v for k, v in p.items() if k in keep}
                           for p in detectors.realisation(self.state, plan, self.now)],
                "revisions": len(plan["revisions"]),
                "at_risk": risky.get(plan["initiative_id"], [])})))
        return rows
