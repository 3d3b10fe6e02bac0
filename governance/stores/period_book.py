"""What a decision needs of its period, kept between decisions (issue 19): the period's last
assessment, as of a log position, brought forward by the events written since.

A decision used to read every initiative of its period (one statement on PostgreSQL, a replay
of each stream in memory), score and rank them all and walk the greedy cut line again, so an
approval cost grew with the period. Here each process keeps, per period, the assessment the
last decision used (`Booked`) and the streams it rests on (the pool, the policy, the
initiatives in contention, the metrics they claim or the policy weighs). The next decision
reads the pool, the policy and the initiative it decides in one statement, as before, and the
log's notifications between the booked position and that statement's position:

- nothing written to a watched stream: the booked assessment is the period's, as of the new
  position;
- only final approvals of recommended work for its whole cost (each an initiative's
  `Approved` and the pool's `FundsCommitted`), deferrals and four-eyes first approvals:
  `domain.portfolio.approved` and `restatus` give the assessment after each, without walking
  the period again;
- anything else (a submission, a revision, a rejection, a withdrawal, a tranche, a departing
  approval, a policy or metric change, an opex restatement, guardrails on an approval):
  None, and the decision reads and ranks the whole period as before, then books the result.

Both ways the result is as of the position the decision records (`ranking_position`): every
state it rests on is that statement's, and the log is read up to that position (commit order
is position order on our PostgreSQL recorder). Whatever the book holds, the decision's save is
guarded as before: an approval writes the pool, so a concurrent one conflicts on its version.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.initiative import Initiative
from domain.lifecycle import Status
from domain.metric import CustomerSuccessMetric
from domain.policy import PolicyTerms, ScoringPolicy
from domain.pool import FundingPool
from domain.portfolio import Assessment, approved, restatus

#: Events that leave an initiative undecided, in this status (the walk is the same).
STILL_UNDECIDED = {
    Initiative.Deferred.TOPIC: Status.DEFERRED,
    Initiative.FirstApprovalRecorded.TOPIC: Status.PENDING_SECOND_APPROVAL,
}
#: Notifications read to bring a book forward (in pages of TAIL_PAGE); at this many the
#: period is re-read instead.
TAIL_LIMIT = 2_000
TAIL_PAGE = 500


@dataclass(frozen=True)
class Booked:
    """A period's assessment as of log position `position`, under policy `policy_version`."""

    position: int
    assessment: Assessment
    policy_version: int
    watched: frozenset[UUID]
    codes: dict[UUID, str]  # initiative id -> code, for every initiative of the period


class PeriodBooks:
    """One per application (process): the newest `Booked` of each period."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._books: dict[str, Booked] = {}
        #: how decisions found their assessment: brought forward ("hits") or re-read
        self.hits = 0
        self.rereads = 0

    def book(
        self,
        period: str,
        *,
        position: int,
        assessment: Assessment,
        policy_version: int,
        terms: PolicyTerms,
        initiatives: Iterable[Initiative],
    ) -> None:
        """Keep this assessment of the period (unless a newer one is kept already)."""
        codes = {i.id: i.code for i in initiatives}
        metrics = {claim.metric for e in assessment.entries for claim in e.scored.candidate.impacts}
        metrics.update(terms.weights)
        watched = frozenset(
            {
                FundingPool.create_id(period),
                ScoringPolicy.create_id(),
                *codes,
                *(CustomerSuccessMetric.create_id(m) for m in metrics),
            }
        )
        with self._lock:
            kept = self._books.get(period)
            if kept is None or kept.position <= position:
                self._books[period] = Booked(position, assessment, policy_version, watched, codes)

    def forward(
        self,
        app: Any,
        period: str,
        *,
        position: int,
        pool: FundingPool,
        policy_version: int,
        terms: PolicyTerms,
    ) -> Assessment | None:
        """The period's assessment as of `position` (where `pool` and the policy were read),
        brought forward from the book; None when it cannot be, exactly."""
        with self._lock:
            kept = self._books.get(period)
        found = self._forward(app, kept, position, policy_version, terms)
        if found is None or found.available != pool.available:
            self.rereads += 1
            return None
        self.hits += 1
        if kept is not None and kept.position < position:
            with self._lock:
                newest = self._books.get(period)
                if newest is kept:
                    self._books[period] = Booked(
                        position, found, policy_version, kept.watched, kept.codes
                    )
        return found

    @staticmethod
    def _forward(
        app: Any, kept: Booked | None, position: int, policy_version: int, terms: PolicyTerms
    ) -> Assessment | None:
        if kept is None or kept.position > position or kept.policy_version != policy_version:
            return None
        if kept.position == position:
            return kept.assessment
        notes: list[Any] = []
        while len(notes) < TAIL_LIMIT:
            page = app.recorder.select_notifications(
                start=notes[-1].id if notes else kept.position,
                limit=TAIL_PAGE,
                stop=position,
                inclusive_of_start=False,
            )
            notes.extend(page)
            if len(page) < TAIL_PAGE:
                break
        else:
            return None  # the period is re-read: cheaper than decoding all that is new
        assessment: Assessment | None = kept.assessment
        commits: dict[UUID, Any] = {}  # the pool's FundsCommitted, until its initiative's event
        for note in notes:
            if assessment is None:
                return None
            if note.originator_id not in kept.watched:
                continue
            code = kept.codes.get(note.originator_id)
            if note.topic == FundingPool.FundsCommitted.TOPIC:
                event = app.mapper.to_domain_event(note)
                if event.initiative_id in commits:
                    return None
                commits[event.initiative_id] = event
            elif note.topic == Initiative.Approved.TOPIC and code is not None:
                event, commit = (
                    app.mapper.to_domain_event(note),
                    commits.pop(note.originator_id, None),
                )
                entry = assessment.entry(code)
                if (
                    commit is None
                    or entry is None
                    or event.gates
                    or event.amount != entry.scored.candidate.cost
                    or commit.amount != event.amount
                ):
                    return None
                assessment = approved(assessment, code, terms)
            elif note.topic in STILL_UNDECIDED and code is not None:
                assessment = restatus(assessment, code, STILL_UNDECIDED[note.topic])
            else:
                return None  # anything else may move the ranking or the cut line
        return None if commits else assessment
