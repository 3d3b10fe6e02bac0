"""One attempt of one command: what it read, the turn it holds, its key, its save.

A use case builds its aggregates from a `UnitOfWork` and returns them; `run` saves them in
one transaction and, when a concurrent writer won the version race, runs the use case again
on fresh state (every rule re-checked), up to `MAX_ATTEMPTS` times. Under an idempotency key
the key's record is saved in the same transaction, and a retried request gets the first
result back (`CommandResult.replayed`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.errors import (
    AlreadyExists,
    CxgovError,
    InitiativeNotFound,
    MetricNotFound,
    PeriodNotFound,
    PnlNotFound,
    PolicyNotAdopted,
    ScenarioNotFound,
)
from domain.idempotency import IdempotencyKey, IdempotencyKeyReused
from domain.initiative import DecisionRecord, Initiative
from domain.metric import CustomerSuccessMetric, ObservationBatch
from domain.policy import PolicyTerms, ScoringPolicy
from domain.pool import FundingPool
from domain.registry import PnL, Scenario
from governance.errors import ConcurrencyConflict
from governance.stores import EventStore

A = TypeVar("A", bound=Aggregate)

MAX_ATTEMPTS = 60
#: Streams written once and never read back by a command: not worth a place in the cache.
WRITE_ONLY = (ObservationBatch, IdempotencyKey)
DECISION_EVENTS = (Initiative.FirstApprovalRecorded, Initiative.Approved, Initiative.Rejected,
                   Initiative.Deferred, Initiative.TrancheApprovalRecorded,
                   Initiative.TrancheReleased)


@dataclass(frozen=True)
class Idempotency:
    """A client's retry key and the fingerprint of its request (method, path, body)."""

    actor: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class CommandResult:
    """What a command wrote: the aggregate, its new version, its status (for initiatives), the
    decision (for decisions), the log position of its last event and the chain entry there
    (the write's receipt). `replayed` is True when an idempotent retry returned the first
    call's result."""

    id: UUID
    version: int
    position: int
    status: str | None = None
    decision: DecisionRecord | None = None
    replayed: bool = False
    entry_hash: bytes | None = None  # the chain entry at `position`, when the save just wrote it


Build = Callable[["UnitOfWork"], Sequence[Aggregate]]


class UnitOfWork:
    """The state of one attempt: every aggregate it read (one round trip for many), the turn
    it holds on a hot stream, and the store it reads from."""

    def __init__(self, store: EventStore, held: ExitStack) -> None:
        self.store = store
        self._held = held
        self._seen: dict[UUID, Aggregate | None] = {}
        self._turn: UUID | None = None

    # --- reads ---------------------------------------------------------------------------

    def prefetch(self, ids: Sequence[UUID]) -> None:
        """Read these aggregates in one round trip (what this attempt read is not re-read)."""
        wanted = [i for i in ids if i not in self._seen]
        if wanted:
            found, _ = self.store.fetch_at(wanted)
            self._seen.update({i: found.get(i) for i in wanted})

    def seen(self, aggregate_id: UUID) -> Aggregate | None:
        """The shared state of an aggregate (None when it does not exist)."""
        if aggregate_id not in self._seen:
            self.prefetch([aggregate_id])
        return self._seen[aggregate_id]

    def read(self, cls: type[A], aggregate_id: UUID, missing: Callable[[], Exception]) -> A:
        """An aggregate to look at, never to change (shared with other threads)."""
        aggregate = self.seen(aggregate_id)
        if not isinstance(aggregate, cls):
            raise missing()
        return aggregate

    def load(self, cls: type[A], aggregate_id: UUID, missing: Callable[[], Exception]) -> A:
        """A private copy of an aggregate, for the command to change."""
        return self.store.private(self.read(cls, aggregate_id, missing))

    def require_absent(self, aggregate_id: UUID, message: str, **details: Any) -> None:
        """Refuse to create what exists already."""
        if self.seen(aggregate_id) is not None:
            raise AlreadyExists(message, **details)

    def read_together(self, ids: set[UUID],
                      more: Callable[[dict[UUID, Aggregate]], set[UUID]]) -> int:
        """Read `ids` in one statement, then again with whatever `more` says they lead to,
        until nothing new is wanted; keep it all for this attempt and return the log position
        the states are as of (a decision's `ranking_position`)."""
        while True:
            found, position = self.store.fetch_at(ids)
            wanted = ids | more(found)
            if wanted <= ids:
                break
            ids = wanted
        self._seen.update({i: found.get(i) for i in ids})
        return position

    # --- what use cases read --------------------------------------------------------------

    def pool(self, period: str, *, writing: bool = False) -> FundingPool:
        """The funding pool of a period (a private copy); `writing=True` takes its turn first."""
        if writing:
            self.take_turn(FundingPool.create_id(period))
        return self.load(FundingPool, FundingPool.create_id(period),
                         lambda: PeriodNotFound(f"no period {period}", period=period))

    def initiative(self, initiative_id: UUID) -> Initiative:
        """An initiative by id (a private copy)."""
        return self.load(Initiative, initiative_id,
                         lambda: InitiativeNotFound(f"no initiative {initiative_id}"))

    def initiatives(self, ids: Sequence[UUID]) -> dict[UUID, Initiative]:
        """Many initiatives in one round trip (shared: look, do not change)."""
        self.prefetch(ids)
        found = {i: self.seen(i) for i in ids}
        missing = [i for i in ids if not isinstance(found[i], Initiative)]
        if missing:
            raise InitiativeNotFound(f"no initiative {missing[0]}")
        return found  # type: ignore[return-value]

    def metric(self, code: str) -> CustomerSuccessMetric:
        """A customer success metric by code (shared: look, do not change)."""
        return self.read(CustomerSuccessMetric, CustomerSuccessMetric.create_id(code),
                         lambda: MetricNotFound(f"no metric {code}", field="metric", code=code))

    def pnl(self, code: str) -> PnL:
        """A P&L by code (shared: look, do not change)."""
        return self.read(PnL, PnL.create_id(code),
                         lambda: PnlNotFound(f"no P&L {code}", field="pnl", code=code))

    def scenario(self, code: str) -> Scenario:
        """A scenario by code (shared: look, do not change)."""
        return self.read(Scenario, Scenario.create_id(code),
                         lambda: ScenarioNotFound(f"no scenario {code}", field="scenario"))

    def policy(self) -> ScoringPolicy:
        """The scoring policy stream (shared: look, do not change); PolicyNotAdopted when
        none was adopted."""
        return self.read(ScoringPolicy, ScoringPolicy.create_id(),
                         lambda: PolicyNotAdopted("adopt a scoring policy first"))

    def policy_terms(self) -> tuple[int, PolicyTerms]:
        """The version number and terms of the policy in force."""
        policy = self.policy()
        if policy.current is None:
            raise PolicyNotAdopted("adopt a scoring policy first")
        return policy.policy_version, policy.current

    def period_snapshot(self, initiative_id: UUID, period: str) -> int:
        """Read, in one statement, the pool, the policy, every initiative of the period and
        every metric they claim or the policy weighs; return the log position of that
        snapshot. The ids come from the cached pool; when the fresh one lists more (or the
        initiatives claim other metrics), read again, all of it."""
        pool_id, policy_id = FundingPool.create_id(period), ScoringPolicy.create_id()
        ids = {pool_id, policy_id, initiative_id}
        hint = self.store.peek(pool_id)
        if isinstance(hint, FundingPool):
            ids.update(hint.initiatives)

        def more(found: dict[UUID, Aggregate]) -> set[UUID]:
            pool, policy = found.get(pool_id), found.get(policy_id)
            wanted: set[UUID] = set(pool.initiatives) if isinstance(pool, FundingPool) else set()
            codes = {claim.metric for a in found.values() if isinstance(a, Initiative)
                     for claim in a.proposal.expected_impacts}
            if isinstance(policy, ScoringPolicy) and policy.current is not None:
                codes.update(policy.current.weights)
            return wanted | {CustomerSuccessMetric.create_id(code) for code in codes}

        return self.read_together(ids, more)

    # --- the turn ------------------------------------------------------------------------

    def take_turn(self, stream_id: UUID) -> None:
        """Queue for the write turn on a hot stream (a pool) for the rest of this attempt, and
        forget what the attempt read of it before (governance/stores/turns.py). One stream per
        attempt, so turns cannot deadlock."""
        if self._turn is not None:
            return
        self._held.enter_context(self.store.turn(stream_id))
        self._turn = stream_id
        self._seen.pop(stream_id, None)


def run(app: Application[UUID], store: EventStore, build: Build, *,
        reads: Callable[[], Sequence[UUID]] = tuple, turn: UUID | None = None,
        idempotency: Idempotency | None = None) -> CommandResult:
    """Run a use case: build fresh aggregates and save them atomically; on a version race,
    build again. `reads` names what `build` will read (fetched with the idempotency key in
    one round trip); `turn` names a hot stream to take the turn of before anything is read.
    Each conflict means another writer committed, so bounded retries always make progress.
    """
    for attempt in range(MAX_ATTEMPTS):
        with ExitStack() as held:
            unit = UnitOfWork(store, held)
            if turn is not None:
                unit.take_turn(turn)
            result = _attempt(app, store, unit, build, reads, idempotency)
        if result is not None:
            return result
        time.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.05)))
    raise ConcurrencyConflict("too many concurrent updates; retry the command")


def _attempt(app: Application[UUID], store: EventStore, unit: UnitOfWork, build: Build,
             reads: Callable[[], Sequence[UUID]],
             idempotency: Idempotency | None) -> CommandResult | None:
    """One try: read, build, save; None when it lost a version race."""
    key = [IdempotencyKey.create_id(idempotency.actor, idempotency.key)] if idempotency else []
    unit.prefetch([*key, *reads()])
    if idempotency is not None and (replayed := _replay(store, unit, idempotency)) is not None:
        return replayed
    try:
        aggregates = list(build(unit))
    except CxgovError:
        # A twin under the same key may have committed since the key was read, and the
        # refusal be its effect ("recorded already", "decided already"): the key, read
        # afresh, answers with the twin's result (or refuses another request under it).
        if idempotency is not None:
            with ExitStack() as held:
                replayed = _replay(store, UnitOfWork(store, held), idempotency)
            if replayed is not None:
                return replayed
        raise
    last = aggregates[-1]
    status = str(last.status) if isinstance(last, Initiative) else None
    decision = next((e.decision for e in reversed(last.pending_events)
                     if isinstance(e, DECISION_EVENTS)), None)
    if idempotency is not None:
        aggregates.append(IdempotencyKey.record(
            actor=idempotency.actor, key=idempotency.key, fingerprint=idempotency.fingerprint,
            result_id=last.id, result_version=last.version, status=status, decision=decision))
    store.forget_chained()
    try:
        recordings = app.save(*aggregates)
    except IntegrityError:
        return None
    store.keep(a for a in aggregates if not isinstance(a, WRITE_ONLY))
    position = recordings[-1].notification.id
    return CommandResult(id=last.id, version=last.version, position=position, status=status,
                         decision=decision, entry_hash=store.chained(position))


def _replay(store: EventStore, unit: UnitOfWork,
            idempotency: Idempotency) -> CommandResult | None:
    key_id = IdempotencyKey.create_id(idempotency.actor, idempotency.key)
    record = unit.seen(key_id)
    if not isinstance(record, IdempotencyKey):
        return None
    if record.fingerprint != idempotency.fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request", field="Idempotency-Key")
    return CommandResult(id=record.result_id, version=record.result_version,
                         position=store.position_of(key_id, 1), status=record.status,
                         decision=record.decision, replayed=True)
