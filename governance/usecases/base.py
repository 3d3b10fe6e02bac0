"""What every use case stands on: the application, its store, its clock, and `transact`.

The use cases (governance/usecases/<role>.py) are methods of `Governance`
(governance/app.py), grouped by who performs them. Each reads like the library's own
examples: check who may do it, then `transact` a build that loads aggregates from the unit
of work, calls the domain, and returns what to save.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, Transcoder

from domain.errors import InitiativeNotFound
from domain.idempotency import check_key
from domain.initiative import Initiative
from domain.lifecycle import Status
from domain.metric import CustomerSuccessMetric
from domain.policy import PolicyTerms, ScoringPolicy
from domain.pool import FundingPool
from domain.portfolio import Assessment, assess
from domain.scoring import Candidate, MetricTarget, Scored, Scorer, candidate_of, score_candidate
from governance.principal import Principal
from governance.stores import EventStore, store_for
from governance.stores.period_book import PeriodBooks
from governance.stores.transcoding import StorableTextTranscoder, transcodings
from governance.unit_of_work import Build, CommandResult, Idempotency, UnitOfWork, run


class Commands(Application[UUID]):
    """The application's plumbing; `Governance` adds the use cases."""

    name = "cxgov"

    def __init__(self, env: Any = None) -> None:
        super().__init__(env=env)
        #: The store behind the commands, chosen once from the recorder the library built.
        self.store: EventStore = store_for(self)
        #: The recording clock observations are checked against (a test may set its own).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._idempotency: Idempotency | None = None
        self._view = False  # True for the keyed copies `idempotent` hands out
        self._scores = Scores()
        self.books = PeriodBooks()  # what decisions need of each period (issue 19)

    def construct_transcoder(self) -> Transcoder:
        """JSON whose decoded text PostgreSQL can store (governance/stores/transcoding.py)."""
        transcoder = StorableTextTranscoder()
        self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        """Register the value objects stored inside events."""
        super().register_transcodings(transcoder)
        for transcoding in transcodings():
            transcoder.register(transcoding)

    @contextmanager
    def idempotent(self, principal: Principal, key: str, fingerprint: str) -> Iterator[Self]:
        """The application as seen by one keyed request: its commands record `key` with
        their events, and a retry replays the first result. (A shallow copy that shares the
        store; no state is shared between requests.)"""
        check_key(key)
        keyed = copy.copy(self)
        keyed._idempotency = Idempotency(principal.actor, key, fingerprint)
        keyed._view = True
        yield keyed

    def close(self) -> None:
        """Close the store; a keyed view (`idempotent`) shares it and closes nothing (the
        library's `__del__` closes an application when it is collected)."""
        if not self._view:
            super().close()

    def transact(self, build: Build, reads: Callable[[], Sequence[UUID]] = tuple, *,
                 turn: UUID | None = None) -> CommandResult:
        """Run a use case's build in a unit of work: save atomically, retry on a lost race
        (governance/unit_of_work.py)."""
        return run(self, self.store, build, reads=reads, turn=turn,
                   idempotency=self._idempotency)

    @contextmanager
    def _looking(self) -> Iterator[UnitOfWork]:
        """A unit of work for a query outside any command (nothing is saved)."""
        with ExitStack() as held:
            yield UnitOfWork(self.store, held)

    # --- queries (shared states: look, do not change) ----------------------------------------

    def position(self) -> int:
        """The newest position of the event log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        """The log position of one stored event."""
        return self.store.position_of(aggregate_id, version)

    def pool(self, period: str) -> FundingPool:
        """The funding pool of a period."""
        with self._looking() as unit:
            return unit.pool(period)

    def initiative(self, initiative_id: UUID) -> Initiative:
        """An initiative by id."""
        with self._looking() as unit:
            return unit.initiative(initiative_id)

    def initiative_id(self, period: str, code: str) -> UUID:
        """The id of an initiative by period and code (checked to exist)."""
        initiative_id = Initiative.create_id(period, code)
        with self._looking() as unit:
            if not isinstance(unit.seen(initiative_id), Initiative):
                raise InitiativeNotFound(f"no initiative {code} in {period}", code=code)
        return initiative_id

    def initiatives(self, period: str) -> list[Initiative]:
        """Every initiative of a period, in submission order."""
        with self._looking() as unit:
            ids = unit.pool(period).initiatives
            loaded = unit.initiatives(ids)
        return [loaded[i] for i in ids]

    def metric(self, code: str) -> CustomerSuccessMetric:
        """A customer success metric by code."""
        with self._looking() as unit:
            return unit.metric(code)

    def policy_terms(self) -> tuple[int, PolicyTerms]:
        """The version number and terms of the policy in force."""
        with self._looking() as unit:
            return unit.policy_terms()

    def assess(self, period: str, *, terms: PolicyTerms | None = None) -> Assessment:
        """Rank a period from the event store itself (never from a lagging read model)."""
        with self._looking() as unit:
            pool = unit.pool(period)
            if terms is None:
                _, terms = unit.policy_terms()
            loaded = unit.initiatives(pool.initiatives)
            return self.assess_with(unit, pool, [loaded[i] for i in pool.initiatives], terms)

    def assess_with(self, unit: UnitOfWork, pool: FundingPool,
                    initiatives: Sequence[Initiative], terms: PolicyTerms, *,
                    asking: tuple[str, Decimal] | None = None) -> Assessment:
        """The ranking of these initiatives under these terms, read through `unit`.
        `asking` (code, amount): rank that initiative as if undecided and asking for the
        amount (a tranche release is judged so)."""
        codes = {claim.metric for i in initiatives for claim in i.proposal.expected_impacts}
        unit.prefetch([CustomerSuccessMetric.create_id(code) for code in codes])
        metrics = {}
        for code in codes:
            metric = unit.metric(code)
            metrics[code] = MetricTarget(code, metric.baseline, metric.target)
        version, current = unit.policy_terms()
        score = self._scores.scorer(version) if terms == current else score_candidate
        candidates = [candidate(i, seq) for seq, i in enumerate(initiatives, start=1)]
        if asking is not None:
            code, amount = asking
            candidates = [dataclasses.replace(c, status=Status.SUBMITTED, cost=amount)
                          if c.code == code else c for c in candidates]
        return assess(candidates, metrics, terms, available=pool.available, pool=pool.amount,
                      score=score)

    def judged(self, unit: UnitOfWork, period: str, initiative_id: UUID,
               settle: Callable[[], tuple[Initiative, int, PolicyTerms, FundingPool]],
               ) -> tuple[int, Initiative, int, PolicyTerms, FundingPool, Assessment]:
        """What a decision on `initiative_id` rests on, in one snapshot at the returned log
        position: `settle` reads (and checks) the initiative, the policy version and terms and
        the pool from `unit`. The period's assessment is brought forward from the last
        decision's (governance/stores/period_book.py) when the events since allow it exactly;
        otherwise the whole period is read and ranked, and booked for the next decision."""
        pool_id = FundingPool.create_id(period)
        position = unit.read_together({pool_id, ScoringPolicy.create_id(), initiative_id},
                                      lambda found: set())
        initiative, version, terms, pool = settle()
        found = self.books.forward(self, period, position=position, pool=pool,
                                   policy_version=version, terms=terms)
        if found is not None:
            return position, initiative, version, terms, pool, found
        position = unit.period_snapshot(initiative_id, period)
        initiative, version, terms, pool = settle()
        others = unit.initiatives([i for i in pool.initiatives if i != initiative.id])
        contenders = [initiative if i == initiative.id else others[i] for i in pool.initiatives]
        found = self.assess_with(unit, pool, contenders, terms)
        self.books.book(period, position=position, assessment=found, policy_version=version,
                        terms=terms, initiatives=contenders)
        return position, initiative, version, terms, pool, found

    def decision_assessment(self, period: str, initiative_id: UUID) -> Assessment:
        """The assessment a decision on `initiative_id` would be judged against now (the
        book's when it can be brought forward; tests compare it with `assess`)."""
        with self._looking() as unit:

            def settle() -> tuple[Initiative, int, PolicyTerms, FundingPool]:
                return (unit.initiative(initiative_id), *unit.policy_terms(), unit.pool(period))

            return self.judged(unit, period, initiative_id, settle)[-1]


class Scores:
    """A per-process memo of `score_candidate`: a decision ranks every initiative of the
    period, and between two decisions almost none of them changed. The key is the candidate
    itself (a frozen value), the targets of the metrics it claims, and the policy version the
    terms belong to (terms other than the policy in force are never memoised)."""

    def __init__(self, size: int = 50_000) -> None:
        self._size = size
        self._memo: dict[tuple[Any, ...], Scored] = {}

    def scorer(self, policy_version: int) -> Scorer:
        """`score_candidate`, memoised, for the terms of this policy version."""
        memo = self._memo

        def score(c: Candidate, metrics: Any, terms: PolicyTerms) -> Scored:
            key = (c, tuple(metrics.get(claim.metric) for claim in c.impacts), policy_version)
            found = memo.get(key)
            if found is None:
                if len(memo) >= self._size:
                    memo.clear()
                found = memo[key] = score_candidate(c, metrics, terms)
            return found

        return score


def candidate(initiative: Initiative, seq: int) -> Candidate:
    """The scoring model's view of an initiative."""
    return candidate_of(id=initiative.id, code=initiative.code, proposal=initiative.proposal,
                        seq=seq, status=initiative.status, pnl=initiative.pnl,
                        kind=initiative.kind)
