"""The governance application: every command, its access rule, and atomic saves with retry."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoder

from domain.errors import (
    AlreadyExists,
    DependencyNotMet,
    InitiativeNotFound,
    InsufficientFunds,
    InvalidInput,
    InvalidTransition,
    JustificationRequired,
    MetricNotFound,
    PeriodNotFound,
    PnlNotFound,
    PolicyNotAdopted,
    ScenarioNotFound,
    SecondApproverRequired,
    SelfApproval,
)
from domain.idempotency import IdempotencyKey, IdempotencyKeyReused, check_key
from domain.initiative import (
    FUNDED,
    PENDING_SECOND,
    UNDECIDED,
    DecisionRecord,
    Initiative,
    Proposal,
)
from domain.metric import CustomerSuccessMetric, ObservationBatch
from domain.policy import PolicyTerms, ScoringPolicy
from domain.pool import FundingPool
from domain.portfolio import Assessment, assess
from domain.registry import PnL, Scenario
from domain.scoring import Candidate, MetricTarget, Scored, Scorer, candidate_of, score_candidate
from domain.text import optional_text
from domain.values import ImpactClaim, Reading, require_text
from governance.access import require_initiative_owner, require_role
from governance.errors import ConcurrencyConflict, StaleVersion
from governance.principal import CX_EXEC, FINANCE, INGEST, Principal
from governance.stores.aggregate_cache import Reads
from governance.stores.transcoding import StorableTextTranscoder, transcodings
from governance.stores.turns import Turns

A = TypeVar("A", bound=Aggregate)

OUTCOMES = ("approve", "reject", "defer")
#: Streams written once and never read back by a command: not worth a place in the cache.
WRITE_ONLY = (ObservationBatch, IdempotencyKey)
DECISION_EVENTS = (Initiative.FirstApprovalRecorded, Initiative.Approved, Initiative.Rejected,
                   Initiative.Deferred)


@dataclass(frozen=True)
class Written:
    """What a command wrote: the aggregate, its new version, its status (for initiatives), the
    decision (for decisions) and the log position of its last event (the receipt's position).
    `replayed` is True when an idempotent retry returned the first call's result."""

    id: UUID
    version: int
    position: int
    status: str | None = None
    decision: DecisionRecord | None = None
    replayed: bool = False
    entry_hash: bytes | None = None  # the chain entry at `position`, when the save just wrote it



@dataclass(frozen=True)
class Idempotency:
    """A client's retry key and the fingerprint of its request (method, path, body)."""

    actor: str
    key: str
    fingerprint: str


_IDEMPOTENCY: ContextVar[Idempotency | None] = ContextVar("cxgov_idempotency", default=None)
#: What the current attempt of a command has read: id -> shared state, or None when absent.
_SEEN: ContextVar[dict[UUID, Aggregate | None] | None] = ContextVar("cxgov_seen", default=None)
#: The turns the current attempt holds (governance/stores/turns.py), released when it ends.
_TURNS: ContextVar[tuple[ExitStack, set[UUID]] | None] = ContextVar("cxgov_turns", default=None)


class Governance(Application[UUID]):
    """Commands for finance, CX executives, P&L owners and ingest services."""

    name = "cxgov"
    max_attempts: ClassVar[int] = 60

    def __init__(self, env: Any = None) -> None:
        super().__init__(env=env)
        #: The recording clock observations are checked against (a test may set its own).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.reads = Reads(self)
        self._scores = Scores()
        self.turns = Turns(self)

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

    # --- plumbing --------------------------------------------------------------------------

    @contextmanager
    def idempotent(self, principal: Principal, key: str, fingerprint: str) -> Iterator[None]:
        """Commands inside record `key` with their events; a retry replays the first result."""
        check_key(key)
        token = _IDEMPOTENCY.set(Idempotency(principal.actor, key, fingerprint))
        try:
            yield
        finally:
            _IDEMPOTENCY.reset(token)

    def _replay(self, request: Idempotency) -> Written | None:
        key_id = IdempotencyKey.create_id(request.actor, request.key)
        record = self._seen(key_id)
        if not isinstance(record, IdempotencyKey):
            return None
        if record.fingerprint != request.fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request", field="Idempotency-Key")
        return Written(id=record.result_id, version=record.result_version,
                       position=self.position_of(key_id, 1), status=record.status,
                       decision=record.decision, replayed=True)

    def _transact(self, build: Callable[[], Sequence[Aggregate]],
                  reads: Callable[[], Sequence[UUID]] = tuple, *,
                  turn: UUID | None = None) -> Written:
        """Build fresh aggregates and save them atomically; on a version race, rebuild.

        `build` reloads whatever it needs, so every retry re-checks every rule on fresh state.
        Each conflict means another writer committed, so bounded retries always make progress.
        Under `idempotent()`, the key is saved in the same transaction, and a retry (or a
        concurrent duplicate that lost the race) returns the first call's result.
        `reads` names the aggregates `build` will read: each attempt fetches them, with the
        idempotency key, in one round trip (governance/stores/aggregate_cache.py). `turn` names
        a hot stream the command writes, whose turn each attempt takes first
        (governance/stores/turns.py).
        """
        request = _IDEMPOTENCY.get()
        for attempt in range(self.max_attempts):
            with ExitStack() as held:
                seen, turns = _SEEN.set({}), _TURNS.set((held, set()))
                held.callback(_SEEN.reset, seen)
                held.callback(_TURNS.reset, turns)
                if turn is not None:
                    self._take_turn(turn)
                written = self._attempt(build, reads, request)
            if written is not None:
                return written
            time.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.05)))
        raise ConcurrencyConflict("too many concurrent updates; retry the command")

    def _attempt(self, build: Callable[[], Sequence[Aggregate]],
                 reads: Callable[[], Sequence[UUID]],
                 request: Idempotency | None) -> Written | None:
        """One try of a command: read, build, save; None when it lost a version race."""
        key = [IdempotencyKey.create_id(request.actor, request.key)] if request else []
        self._prefetch([*key, *reads()])
        if request is not None and (replayed := self._replay(request)) is not None:
            return replayed
        aggregates = list(build())
        last = aggregates[-1]
        status = getattr(last, "status", None) if isinstance(last, Initiative) else None
        decision = next((e.decision for e in reversed(last.pending_events)
                         if isinstance(e, DECISION_EVENTS)), None)
        if request is not None:
            aggregates.append(IdempotencyKey.record(
                actor=request.actor, key=request.key, fingerprint=request.fingerprint,
                result_id=last.id, result_version=last.version, status=status,
                decision=decision))
        take_chained = getattr(self.recorder, "take_chained", None)
        if take_chained is not None:
            take_chained()  # forget what an earlier save of this thread chained
        try:
            recordings = self.save(*aggregates)
        except IntegrityError:
            return None
        self.reads.keep(a for a in aggregates if not isinstance(a, WRITE_ONLY))
        position = recordings[-1].notification.id
        chained = take_chained() if take_chained is not None else None
        return Written(id=last.id, version=last.version, position=position, status=status,
                       decision=decision,
                       entry_hash=chained[1] if chained and chained[0] == position else None)

    def _take_turn(self, stream_id: UUID) -> None:
        """Queue for the write turn on a hot stream (a pool) for the rest of this attempt, and
        forget what the attempt read of it before (governance/stores/turns.py). One stream per
        attempt, so turns cannot deadlock."""
        current = _TURNS.get()
        if current is None:
            return
        held, streams = current
        if streams:
            return
        held.enter_context(self.turns.turn(stream_id))
        streams.add(stream_id)
        seen = _SEEN.get()
        if seen is not None:
            seen.pop(stream_id, None)

    def position_of(self, aggregate_id: UUID, version: int) -> int:
        """The log position of one stored event."""
        recorder: Any = self.recorder
        if hasattr(recorder, "datastore") and hasattr(recorder, "events_table_name"):
            with recorder.datastore.transaction(commit=False) as curs:
                curs.execute(
                    f"SELECT notification_id FROM {recorder.events_table_name} "
                    "WHERE originator_id = %s AND originator_version = %s",
                    (aggregate_id, version))
                row = curs.fetchone()
                return int(row["notification_id"]) if row else 0
        start = None
        while batch := recorder.select_notifications(start=start, limit=1000,
                                                     inclusive_of_start=False):
            for n in batch:
                if n.originator_id == aggregate_id and n.originator_version == version:
                    return int(n.id)
            start = batch[-1].id
        return 0

    def _prefetch(self, ids: Sequence[UUID]) -> None:
        """Read these aggregates in one round trip for the current attempt."""
        seen = _SEEN.get()
        wanted = [i for i in ids if seen is None or i not in seen]
        if not wanted:
            return
        found = self.reads.fetch(wanted)
        if seen is not None:
            seen.update({i: found.get(i) for i in wanted})

    def _seen(self, aggregate_id: UUID) -> Aggregate | None:
        """The shared, read-only state of an aggregate (None when it does not exist); inside a
        command's attempt, what that attempt already read."""
        seen = _SEEN.get()
        if seen is not None and aggregate_id in seen:
            return seen[aggregate_id]
        aggregate = self.reads.fetch([aggregate_id]).get(aggregate_id)
        if seen is not None:
            seen[aggregate_id] = aggregate
        return aggregate

    def _read(self, cls: type[A], aggregate_id: UUID, missing: Callable[[], Exception]) -> A:
        """An aggregate to look at, never to change (shared with other threads)."""
        aggregate = self._seen(aggregate_id)
        if not isinstance(aggregate, cls):
            raise missing()
        return aggregate

    def _load(self, cls: type[A], aggregate_id: UUID, missing: Callable[[], Exception]) -> A:
        """A private copy of an aggregate, for a command to change."""
        return self.reads.private(self._read(cls, aggregate_id, missing))

    def pool(self, period: str, *, writing: bool = False) -> FundingPool:
        """The funding pool of a period; `writing=True` takes the pool's turn first."""
        if writing:
            self._take_turn(FundingPool.create_id(period))
        return self._load(FundingPool, FundingPool.create_id(period),
                          lambda: PeriodNotFound(f"no period {period}", period=period))

    def initiative(self, initiative_id: UUID) -> Initiative:
        """An initiative by id."""
        return self._load(Initiative, initiative_id,
                          lambda: InitiativeNotFound(f"no initiative {initiative_id}"))

    def initiative_id(self, period: str, code: str) -> UUID:
        """The id of an initiative by period and code (checked to exist)."""
        initiative_id = Initiative.create_id(period, code)
        if not isinstance(self._seen(initiative_id), Initiative):
            raise InitiativeNotFound(f"no initiative {code} in {period}", code=code)
        return initiative_id

    def initiatives(self, period: str) -> list[Initiative]:
        """Every initiative of a period, in submission order (shared: look, do not change)."""
        ids = self.pool(period).initiatives
        loaded = self._load_initiatives(ids)
        return [loaded[i] for i in ids]

    def _load_initiatives(self, ids: Sequence[UUID]) -> dict[UUID, Initiative]:
        """Many initiatives in one round trip (shared: look, do not change); inside a
        command's attempt, what it read already is not read again."""
        self._prefetch(ids)
        found = {i: self._seen(i) for i in ids}
        missing = [i for i in ids if not isinstance(found[i], Initiative)]
        if missing:
            raise InitiativeNotFound(f"no initiative {missing[0]}")
        return found  # type: ignore[return-value]

    def _snapshot(self, initiative_id: UUID, period: str) -> int:
        """Read, in one statement, the pool, the policy, every initiative of the period and
        every metric they claim or the policy weighs, into the current attempt; return the
        log position that snapshot is at. The ids come from the cached pool; when the fresh
        one lists more (or the initiatives claim other metrics), read again, all of it."""
        seen = _SEEN.get()
        pool_id, policy_id = FundingPool.create_id(period), ScoringPolicy.create_id()
        ids = {pool_id, policy_id, initiative_id}
        hint = self.reads.peek(pool_id)
        if isinstance(hint, FundingPool):
            ids.update(hint.initiatives)
        while True:
            found, position = self.reads.fetch_at(ids)
            pool, policy = found.get(pool_id), found.get(policy_id)
            wanted = set(ids)
            if isinstance(pool, FundingPool):
                wanted.update(pool.initiatives)
            codes = {claim.metric for a in found.values() if isinstance(a, Initiative)
                     for claim in a.proposal.expected_impacts}
            if isinstance(policy, ScoringPolicy) and policy.current is not None:
                codes.update(policy.current.weights)
            wanted.update(CustomerSuccessMetric.create_id(code) for code in codes)
            if wanted <= ids:
                break
            ids = wanted
        if seen is not None:
            seen.update({i: found.get(i) for i in ids})
        return position

    def metric(self, code: str) -> CustomerSuccessMetric:
        """A customer success metric by code (shared: look, do not change)."""
        return self._read(CustomerSuccessMetric, CustomerSuccessMetric.create_id(code),
                          lambda: MetricNotFound(f"no metric {code}", field="metric", code=code))

    def pnl(self, code: str) -> PnL:
        """A P&L by code (shared: look, do not change)."""
        return self._read(PnL, PnL.create_id(code),
                          lambda: PnlNotFound(f"no P&L {code}", field="pnl", code=code))

    def scenario(self, code: str) -> Scenario:
        """A scenario by code (shared: look, do not change)."""
        return self._read(Scenario, Scenario.create_id(code),
                          lambda: ScenarioNotFound(f"no scenario {code}", field="scenario"))

    def policy(self) -> ScoringPolicy:
        """The scoring policy stream (raises PolicyNotAdopted when none was adopted; shared:
        look, do not change)."""
        return self._read(ScoringPolicy, ScoringPolicy.create_id(),
                          lambda: PolicyNotAdopted("adopt a scoring policy first"))

    def policy_terms(self) -> tuple[int, PolicyTerms]:
        """The version number and terms of the policy in force."""
        policy = self.policy()
        if policy.current is None:
            raise PolicyNotAdopted("adopt a scoring policy first")
        return policy.policy_version, policy.current

    def position(self) -> int:
        """The newest position of the event log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    def _require_absent(self, aggregate_id: UUID, message: str, **details: Any) -> None:
        if self._seen(aggregate_id) is not None:
            raise AlreadyExists(message, **details)

    # --- finance ---------------------------------------------------------------------------

    def open_period(self, principal: Principal, *, code: str, currency: str,
                    opex_total: Decimal, cap_percent: Decimal = Decimal(10)) -> Written:
        """Open a fiscal period's pool at cap percent (<= 10) of company OpEx."""
        require_role(principal, FINANCE, action="opening a period")

        def build() -> list[Aggregate]:
            pool = FundingPool.open(period=code, currency=currency, opex_total=opex_total,
                                    cap_percent=cap_percent, actor=principal.actor)
            self._require_absent(pool.id, f"period {code} is already open", field="code")
            return [pool]

        return self._transact(build)

    def restate_opex(self, principal: Principal, *, period: str, opex_total: Decimal,
                     reason: str) -> Written:
        """Restate company OpEx; refused below what is committed."""
        require_role(principal, FINANCE, action="restating OpEx")

        def build() -> list[Aggregate]:
            pool = self.pool(period, writing=True)
            pool.restate_opex(opex_total=opex_total, reason=reason, actor=principal.actor)
            return [pool]

        return self._transact(build)

    def close_period(self, principal: Principal, *, period: str, reason: str) -> Written:
        """Close a period: no more submissions or commitments."""
        require_role(principal, FINANCE, action="closing a period")

        def build() -> list[Aggregate]:
            pool = self.pool(period, writing=True)
            pool.close(reason=reason, actor=principal.actor)
            return [pool]

        return self._transact(build)

    def register_pnl(self, principal: Principal, *, code: str, name: str,
                     owners: Sequence[str] = (), opex: Decimal | None = None) -> Written:
        """Register a P&L and its owners."""
        require_role(principal, FINANCE, action="registering a P&L")

        def build() -> list[Aggregate]:
            pnl = PnL.register(code=code, name=name, owners=tuple(owners), opex=opex,
                               actor=principal.actor)
            self._require_absent(pnl.id, f"P&L {code} exists already", field="code")
            return [pnl]

        return self._transact(build)

    # --- CX executive: register and policy --------------------------------------------------

    def define_scenario(self, principal: Principal, *, code: str, name: str,
                        pnl: str | None = None, description: str = "") -> Written:
        """Define a customer's critical scenario."""
        require_role(principal, CX_EXEC, action="defining a scenario")

        def build() -> list[Aggregate]:
            if pnl is not None:
                self.pnl(pnl)
            scenario = Scenario.define(code=code, name=name, pnl=pnl, description=description,
                                       actor=principal.actor)
            self._require_absent(scenario.id, f"scenario {code} exists already", field="code")
            return [scenario]

        return self._transact(build)

    def define_metric(self, principal: Principal, *, code: str, customer_phrasing: str,
                      operational_metric: str, unit: str, direction: str, baseline: Decimal,
                      target: Decimal, scenario: str | None = None, pnl: str | None = None,
                      target_date: date | None = None,
                      customer_threshold: Decimal | None = None,
                      importance: Decimal | None = None,
                      satisfaction: Decimal | None = None) -> Written:
        """Define a customer success metric (customer phrasing -> operational metric)."""
        require_role(principal, CX_EXEC, action="defining a metric")

        def build() -> list[Aggregate]:
            if scenario is not None:
                self.scenario(scenario)
            if pnl is not None:
                self.pnl(pnl)
            metric = CustomerSuccessMetric.define(
                code=code, customer_phrasing=customer_phrasing,
                operational_metric=operational_metric, scenario=scenario, pnl=pnl, unit=unit,
                direction=direction, baseline=baseline, target=target, target_date=target_date,
                customer_threshold=customer_threshold, importance=importance,
                satisfaction=satisfaction, actor=principal.actor)
            self._require_absent(metric.id, f"metric {code} exists already", field="code")
            return [metric]

        return self._transact(build)

    def retarget_metric(self, principal: Principal, *, code: str, baseline: Decimal,
                        target: Decimal, target_date: date | None, reason: str) -> Written:
        """Change a metric's baseline or target, with a reason."""
        require_role(principal, CX_EXEC, action="retargeting a metric")

        def build() -> list[Aggregate]:
            metric = self.reads.private(self.metric(code))
            metric.retarget(baseline=baseline, target=target, target_date=target_date,
                            reason=reason, actor=principal.actor)
            return [metric]

        return self._transact(build)

    def record_observations(self, principal: Principal, *, metric: str, batch_key: str,
                            readings: Sequence[Reading], source: str) -> Written:
        """Record a batch of readings; a retried batch key is refused, never applied twice."""
        require_role(principal, INGEST, CX_EXEC, action="recording observations")

        def build() -> list[Aggregate]:
            self.metric(metric)
            batch = ObservationBatch.record(metric=metric, batch_key=batch_key,
                                            readings=tuple(readings), source=source,
                                            actor=principal.actor, now=self.clock())
            self._require_absent(batch.id, f"batch {batch_key} of {metric} was recorded already",
                                 field="batch_key")
            return [batch]

        return self._transact(build)

    #: Limits of one `record_observation_batches` call (one transaction).
    max_bulk_batches: ClassVar[int] = 1_000
    max_bulk_readings: ClassVar[int] = 10_000

    def record_observation_batches(
            self, principal: Principal, *,
            batches: Sequence[tuple[str, str, Sequence[Reading], str]]) -> Written:
        """Record many `(metric, batch_key, readings, source)` batches in one transaction.

        All or nothing: a batch key given twice, or recorded already, refuses the whole call
        and names every such batch. One query asks which of the distinct metrics (their ids
        are namespaced: an existing metric id is a metric) and which batches exist. At most
        `max_bulk_batches` batches and `max_bulk_readings` readings in total. The result
        names the last batch; its position is the position of the call's last event.
        """
        require_role(principal, INGEST, CX_EXEC, action="recording observations")
        if not batches:
            raise InvalidInput("send at least one batch", field="batches")
        if len(batches) > self.max_bulk_batches:
            raise InvalidInput(f"at most {self.max_bulk_batches:,} batches per call, got "
                               f"{len(batches):,}", field="batches")
        readings_count = sum(len(readings) for _, _, readings, _ in batches)
        if readings_count > self.max_bulk_readings:
            raise InvalidInput(f"at most {self.max_bulk_readings:,} readings per call, got "
                               f"{readings_count:,}", field="batches")

        def existing(ids: list[UUID]) -> set[UUID]:
            """Which of these streams exist: one query on PostgreSQL (ids as one text array)."""
            recorder: Any = self.recorder
            if not hasattr(recorder, "datastore"):
                return {i for i in ids if i in self.repository}
            with recorder.datastore.transaction(commit=False) as curs:
                curs.execute(f"SELECT DISTINCT originator_id FROM {recorder.events_table_name} "
                             "WHERE originator_id = ANY(%s::uuid[])",
                             ("{" + ",".join(map(str, ids)) + "}",))
                return {row["originator_id"] for row in curs.fetchall()}

        now = self.clock()

        def build() -> list[Aggregate]:
            created = []
            for index, (metric, key, readings, source) in enumerate(batches):
                try:
                    created.append(ObservationBatch.record(
                        metric=metric, batch_key=key, readings=tuple(readings), source=source,
                        actor=principal.actor, now=now))
                except InvalidInput as exc:
                    raise exc.within(f"batches.{index}") from None
            seen: set[UUID] = set()
            repeated = []
            for b in created:
                if b.id in seen:
                    repeated.append(b)
                seen.add(b.id)
            if repeated:
                raise InvalidInput(
                    f"{len(repeated)} batch key(s) appear more than once in the call: "
                    f"{listed(repeated)}; none of the {len(created)} batches was written",
                    field="batches", repeated=keys(repeated))
            metrics = {CustomerSuccessMetric.create_id(code): code
                       for code in dict.fromkeys(b.metric for b in created)}
            found = existing([*metrics, *seen])
            for metric_id, code in metrics.items():
                if metric_id not in found:
                    raise MetricNotFound(f"no metric {code}", field="metric", code=code)
            dupes = [b for b in created if b.id in found]
            if dupes:
                raise AlreadyExists(
                    f"{len(dupes)} of {len(created)} batches were recorded already: "
                    f"{listed(dupes)}; none of the {len(created)} batches was written",
                    field="batches", duplicates=keys(dupes))
            return list(created)

        return self._transact(build)

    def adopt_policy(self, principal: Principal, *, terms: PolicyTerms,
                     rationale: str) -> Written:
        """Adopt scoring terms as the next policy version."""
        require_role(principal, CX_EXEC, action="adopting a scoring policy")

        def build() -> list[Aggregate]:
            terms.check()
            for code in terms.weights:
                self.metric(code)
            try:
                policy = self.reads.private(self.policy())
            except PolicyNotAdopted:
                policy = ScoringPolicy(actor=principal.actor)
            policy.adopt(terms=terms, rationale=rationale, actor=principal.actor)
            return [policy]

        return self._transact(build)

    # --- submissions -----------------------------------------------------------------------

    @staticmethod
    def _references(proposal: Proposal, pnl: str | None) -> list[UUID]:
        """The ids of what a proposal refers to (read together by the command)."""
        return [ScoringPolicy.create_id(), *([PnL.create_id(pnl)] if pnl else []),
                *([Scenario.create_id(proposal.scenario)] if proposal.scenario else []),
                *(CustomerSuccessMetric.create_id(c.metric) for c in proposal.expected_impacts)]

    def _check_proposal(self, proposal: Proposal, pool: FundingPool, *, code: str) -> None:
        if proposal.scenario is not None:
            self.scenario(proposal.scenario)
        for claim in proposal.expected_impacts:
            self.metric(claim.metric)
        for dependency in proposal.dependencies:
            if dependency not in pool.codes or dependency == code:
                raise InvalidInput(f"dependency {dependency} is not an initiative of "
                                   f"{pool.period}", field="dependencies")
        try:
            _, terms = self.policy_terms()
        except PolicyNotAdopted:
            return
        if proposal.confidence not in terms.confidence_tiers.values():
            tiers = ", ".join(f"{k}={v}" for k, v in terms.confidence_tiers.items())
            raise InvalidInput(f"confidence must be one of the policy's tiers ({tiers})",
                               field="confidence")

    def submit_initiative(self, principal: Principal, *, period: str, kind: str,
                          pnl: str | None, proposal: Proposal,
                          code: str | None = None) -> Written:
        """Submit an initiative; P&L owners for their own P&L, CX executives sponsor cross-P&L."""
        require_initiative_owner(principal, kind=kind, pnl=pnl, action="submitting an initiative")

        def build() -> list[Aggregate]:
            pool = self.pool(period)
            if pnl is not None:
                self.pnl(pnl)
            chosen = code or pool.next_code()
            self._check_proposal(proposal, pool, code=chosen)
            initiative = Initiative.submit(period=period, code=chosen, kind=kind, pnl=pnl,
                                           proposal=proposal, actor=principal.actor)
            pool.enlist(initiative_id=initiative.id, code=initiative.code, actor=principal.actor)
            return [pool, initiative]

        pool_id = FundingPool.create_id(period)
        return self._transact(build, lambda: [pool_id, *self._references(proposal, pnl)],
                              turn=pool_id)

    def revise_initiative(self, principal: Principal, *, initiative_id: UUID,
                          changes: dict[str, Any], reason: str = "",
                          expected_version: int | None = None) -> Written:
        """Revise an undecided initiative (If-Match: expected_version)."""

        def build() -> list[Aggregate]:
            initiative = self.initiative(initiative_id)
            require_initiative_owner(principal, kind=initiative.kind, pnl=initiative.pnl,
                                     action="revising an initiative")
            if expected_version is not None and expected_version != initiative.version:
                raise StaleVersion(
                    f"initiative is at version {initiative.version}, not {expected_version}",
                    current_version=initiative.version)
            initiative.revise(changes=changes, reason=reason, actor=principal.actor)
            self._check_proposal(initiative.proposal, self.pool(initiative.period),
                                 code=initiative.code)
            return [initiative]

        return self._transact(build)

    def withdraw_initiative(self, principal: Principal, *, initiative_id: UUID,
                            reason: str = "") -> Written:
        """Withdraw an undecided initiative."""

        def build() -> list[Aggregate]:
            initiative = self.initiative(initiative_id)
            require_initiative_owner(principal, kind=initiative.kind, pnl=initiative.pnl,
                                     action="withdrawing an initiative")
            initiative.withdraw(reason=reason, actor=principal.actor)
            return [initiative]

        return self._transact(build)

    # --- the write side's own ranking --------------------------------------------------------

    def assess(self, period: str, *, terms: PolicyTerms | None = None) -> Assessment:
        """Rank a period from the event store itself (never from a lagging read model)."""
        pool = self.pool(period)
        if terms is None:
            _, terms = self.policy_terms()
        return self._assess(pool, [self.initiative(i) for i in pool.initiatives], terms)

    def _assess(self, pool: FundingPool, initiatives: Sequence[Initiative],
                terms: PolicyTerms) -> Assessment:
        codes = {claim.metric for i in initiatives for claim in i.proposal.expected_impacts}
        self._prefetch([CustomerSuccessMetric.create_id(code) for code in codes])
        metrics = {}
        for code in codes:
            metric = self.metric(code)
            metrics[code] = MetricTarget(code, metric.baseline, metric.target)
        version, current = self.policy_terms()
        score = self._scores.scorer(version) if terms == current else score_candidate
        return assess([candidate(i, seq) for seq, i in enumerate(initiatives, start=1)],
                      metrics, terms, available=pool.available, score=score)

    # --- decisions -------------------------------------------------------------------------

    def decide(self, principal: Principal, *, initiative_id: UUID, outcome: str,
               rationale: str = "") -> Written:
        """Approve, reject or defer; comply or explain against the current recommendation.

        An approval saves the pool and the initiative in one transaction; a lost race reloads
        and re-decides on fresh state, so the pool is never overspent.
        """
        require_role(principal, CX_EXEC, action="deciding on an initiative")
        if outcome not in OUTCOMES:
            raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
        rationale = optional_text(rationale, field="rationale", max_length=4000)

        def decidable() -> Initiative:
            initiative = self.initiative(initiative_id)
            if initiative.status not in UNDECIDED:
                raise InvalidTransition(
                    f"initiative {initiative.code} is {initiative.status}; it can no longer be "
                    "decided", status=initiative.status)
            if principal.actor in initiative.authors:
                raise SelfApproval("nobody decides on an initiative they submitted or revised")
            return initiative

        def build() -> list[Aggregate]:
            period = decidable().period  # refused before queueing for the pool's turn
            if outcome == "approve":
                self._take_turn(FundingPool.create_id(period))
            # Everything the decision rests on, read in one snapshot at `ranking_position`.
            ranking_position = self._snapshot(initiative_id, period)
            initiative = decidable()
            version, terms = self.policy_terms()
            pool = self.pool(period)
            if outcome == "approve" and initiative.cost > pool.available:
                # Cheap and final whatever the ranking says: a lost race ends here.
                raise InsufficientFunds(
                    f"{initiative.cost} requested but only {pool.available} of {pool.amount} "
                    "is available", requested=str(initiative.cost),
                    available=str(pool.available), pool=str(pool.amount))
            loaded = self._load_initiatives([i for i in pool.initiatives if i != initiative.id])
            others = [initiative if i == initiative.id else loaded[i] for i in pool.initiatives]
            assessment = self._assess(pool, others, terms)
            entry = assessment.entry(initiative.code)
            if entry is None:  # undecided initiatives are always in contention
                raise InvalidTransition(f"{initiative.code} is not in contention")
            departure = entry.recommended != (outcome == "approve")
            if departure and not rationale:
                raise JustificationRequired(
                    f"{initiative.code} is {'above' if entry.recommended else 'below'} the "
                    f"recommendation's cut line; to {outcome} it, write a justification",
                    field="rationale", rank=entry.rank, recommended=entry.recommended,
                    cut_line_rank=assessment.cut_line_rank)
            cost = initiative.cost
            final_approval = outcome == "approve" and (
                cost <= terms.four_eyes_threshold or initiative.status == PENDING_SECOND)
            if outcome == "approve":
                self._check_approval(principal, initiative, others, pool, terms)
            decision = DecisionRecord(
                decision_id=uuid4(), outcome=outcome, rationale=rationale, departure=departure,
                recommended=entry.recommended, rank=entry.rank, score=entry.scored.score,
                cip=entry.scored.cip, policy_version=version,
                available_before=pool.available,
                available_after=pool.available - cost if final_approval else pool.available,
                ranking_position=ranking_position, cut_line_rank=assessment.cut_line_rank,
                approvals=(*initiative.approvals, principal.actor) if outcome == "approve"
                else tuple(initiative.approvals),
            )
            if outcome == "reject":
                initiative.reject(decision=decision, actor=principal.actor)
                return [initiative]
            if outcome == "defer":
                initiative.defer(decision=decision, actor=principal.actor)
                return [initiative]
            if not final_approval:
                initiative.record_first_approval(decision=decision, actor=principal.actor)
                return [initiative]
            pool.commit(initiative_id=initiative.id, amount=cost,
                        decision_id=decision.decision_id, actor=principal.actor)
            initiative.approve(decision=decision, actor=principal.actor)
            return [pool, initiative]

        return self._transact(build, lambda: [initiative_id, ScoringPolicy.create_id()])

    def _check_approval(self, principal: Principal, initiative: Initiative,
                        others: Sequence[Initiative], pool: FundingPool,
                        terms: PolicyTerms) -> None:
        if principal.actor in initiative.approvals:
            raise SecondApproverRequired(
                f"{initiative.code} costs more than the four-eyes threshold "
                f"{terms.four_eyes_threshold}: a different CX executive must approve it")
        funded = {i.code for i in others if i.status in FUNDED}
        missing = [d for d in initiative.proposal.dependencies if d not in funded]
        if missing:
            raise DependencyNotMet(f"{initiative.code} needs {', '.join(missing)} funded first",
                                   missing=missing)
        if initiative.cost > pool.available:
            raise InsufficientFunds(
                f"{initiative.cost} requested but only {pool.available} of {pool.amount} "
                "is available", requested=str(initiative.cost), available=str(pool.available),
                pool=str(pool.amount))

    # --- after approval --------------------------------------------------------------------

    def report_delivery(self, principal: Principal, *, initiative_id: UUID,
                        delivered_on: date, note: str = "") -> Written:
        """Report that approved work was delivered."""

        def build() -> list[Aggregate]:
            initiative = self.initiative(initiative_id)
            require_initiative_owner(principal, kind=initiative.kind, pnl=initiative.pnl,
                                     action="reporting delivery")
            initiative.deliver(delivered_on=delivered_on, note=note, actor=principal.actor)
            return [initiative]

        return self._transact(build)

    def record_outcome(self, principal: Principal, *, initiative_id: UUID, metric: str,
                       observed_value: Decimal, observed_at: datetime,
                       note: str = "") -> Written:
        """Record an observed outcome of delivered work on a claimed metric."""

        def build() -> list[Aggregate]:
            initiative = self.initiative(initiative_id)
            require_initiative_owner(principal, kind=initiative.kind, pnl=initiative.pnl,
                                     action="recording an outcome")
            initiative.record_outcome(metric=metric, observed_value=observed_value,
                                      observed_at=observed_at, note=note,
                                      actor=principal.actor, now=self.clock())
            return [initiative]

        return self._transact(build)

    def cancel_initiative(self, principal: Principal, *, initiative_id: UUID,
                          reason: str) -> Written:
        """Cancel approved work and release its funds, in one transaction."""
        require_role(principal, CX_EXEC, action="cancelling funded work")
        require_text(reason, field="reason")

        def build() -> list[Aggregate]:
            initiative = self.initiative(initiative_id)
            if initiative.status != "approved":
                raise InvalidTransition(f"cannot cancel {initiative.code} while it is "
                                        f"{initiative.status}", status=initiative.status)
            pool = self.pool(initiative.period, writing=True)
            amount = pool.release(initiative_id=initiative.id, reason=reason,
                                  actor=principal.actor)
            initiative.cancel(reason=reason, amount_released=amount, actor=principal.actor)
            return [pool, initiative]

        return self._transact(build)


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


def listed(batches: Sequence[ObservationBatch], most: int = 20) -> str:
    """`metric/batch_key` of the first batches, for an error message."""
    names = [f"{b.metric}/{b.batch_key}" for b in batches]
    return ", ".join(names[:most]) + (" ..." if len(names) > most else "")


def keys(batches: Sequence[ObservationBatch]) -> list[dict[str, str]]:
    """The batches' metric and batch key, for an error's details."""
    return [{"metric": b.metric, "batch_key": b.batch_key} for b in batches]


def candidate(initiative: Initiative, seq: int) -> Candidate:
    """The scoring model's view of an initiative."""
    return candidate_of(id=initiative.id, code=initiative.code, proposal=initiative.proposal,
                        seq=seq, status=initiative.status, pnl=initiative.pnl,
                        kind=initiative.kind)


__all__ = ["Governance", "ImpactClaim", "Proposal", "Written"]
