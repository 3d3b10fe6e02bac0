"""The governance application: every command, its access rule, and atomic saves with retry."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, StoredEvent

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
from domain.scoring import Candidate, MetricTarget, candidate_of
from domain.values import ImpactClaim, Reading, require_text
from governance.access import require_initiative_owner, require_role
from governance.errors import ConcurrencyConflict, StaleVersion
from governance.principal import CX_EXEC, FINANCE, INGEST, Principal
from governance.transcoding import transcodings

A = TypeVar("A", bound=Aggregate)

OUTCOMES = ("approve", "reject", "defer")
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



@dataclass(frozen=True)
class Idempotency:
    """A client's retry key and the fingerprint of its request (method, path, body)."""

    actor: str
    key: str
    fingerprint: str


_IDEMPOTENCY: ContextVar[Idempotency | None] = ContextVar("cxgov_idempotency", default=None)


class Governance(Application[UUID]):
    """Commands for finance, CX executives, P&L owners and ingest services."""

    name = "cxgov"
    max_attempts: ClassVar[int] = 60

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
        if key_id not in self.repository:
            return None
        record: IdempotencyKey = self.repository.get(key_id)
        if record.fingerprint != request.fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request", field="Idempotency-Key")
        return Written(id=record.result_id, version=record.result_version,
                       position=self.position_of(key_id, 1), status=record.status,
                       decision=record.decision, replayed=True)

    def _transact(self, build: Callable[[], Sequence[Aggregate]]) -> Written:
        """Build fresh aggregates and save them atomically; on a version race, rebuild.

        `build` reloads whatever it needs, so every retry re-checks every rule on fresh state.
        Each conflict means another writer committed, so bounded retries always make progress.
        Under `idempotent()`, the key is saved in the same transaction, and a retry (or a
        concurrent duplicate that lost the race) returns the first call's result.
        """
        request = _IDEMPOTENCY.get()
        for attempt in range(self.max_attempts):
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
            try:
                recordings = self.save(*aggregates)
            except IntegrityError:
                time.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.05)))
                continue
            return Written(id=last.id, version=last.version,
                           position=recordings[-1].notification.id, status=status,
                           decision=decision)
        raise ConcurrencyConflict("too many concurrent updates; retry the command")

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

    def _load(self, cls: type[A], aggregate_id: UUID, missing: Callable[[], Exception]) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise missing() from None
        if not isinstance(aggregate, cls):
            raise missing()
        return aggregate

    def pool(self, period: str) -> FundingPool:
        """The funding pool of a period."""
        return self._load(FundingPool, FundingPool.create_id(period),
                          lambda: PeriodNotFound(f"no period {period}", period=period))

    def initiative(self, initiative_id: UUID) -> Initiative:
        """An initiative by id."""
        return self._load(Initiative, initiative_id,
                          lambda: InitiativeNotFound(f"no initiative {initiative_id}"))

    def initiative_id(self, period: str, code: str) -> UUID:
        """The id of an initiative by period and code (checked to exist)."""
        initiative_id = Initiative.create_id(period, code)
        if initiative_id not in self.repository:
            raise InitiativeNotFound(f"no initiative {code} in {period}", code=code)
        return initiative_id

    def initiatives(self, period: str) -> list[Initiative]:
        """Every initiative of a period, in submission order."""
        ids = self.pool(period).initiatives
        loaded = self._load_initiatives(ids)
        return [loaded[i] for i in ids]

    def _load_initiatives(self, ids: Sequence[UUID]) -> dict[UUID, Initiative]:
        """Many initiatives at once: one query on PostgreSQL instead of one per aggregate."""
        recorder: Any = self.recorder
        if not ids or not hasattr(recorder, "datastore"):
            return {i: self.initiative(i) for i in ids}
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(
                f"SELECT originator_id, originator_version, topic, state "
                f"FROM {recorder.events_table_name} WHERE originator_id = ANY(%s) "
                "ORDER BY originator_id, originator_version", (list(ids),))
            rows = curs.fetchall()
        found: dict[UUID, Any] = {}
        for row in rows:
            event: Any = self.mapper.to_domain_event(StoredEvent(
                originator_id=row["originator_id"], originator_version=row["originator_version"],
                topic=row["topic"], state=bytes(row["state"])))
            found[row["originator_id"]] = event.mutate(found.get(row["originator_id"]))
        missing = [i for i in ids if not isinstance(found.get(i), Initiative)]
        if missing:
            raise InitiativeNotFound(f"no initiative {missing[0]}")
        return found

    def metric(self, code: str) -> CustomerSuccessMetric:
        """A customer success metric by code."""
        return self._load(CustomerSuccessMetric, CustomerSuccessMetric.create_id(code),
                          lambda: MetricNotFound(f"no metric {code}", field="metric", code=code))

    def pnl(self, code: str) -> PnL:
        """A P&L by code."""
        return self._load(PnL, PnL.create_id(code),
                          lambda: PnlNotFound(f"no P&L {code}", field="pnl", code=code))

    def scenario(self, code: str) -> Scenario:
        """A scenario by code."""
        return self._load(Scenario, Scenario.create_id(code),
                          lambda: ScenarioNotFound(f"no scenario {code}", field="scenario"))

    def policy(self) -> ScoringPolicy:
        """The scoring policy stream (raises PolicyNotAdopted when none was adopted)."""
        return self._load(ScoringPolicy, ScoringPolicy.create_id(),
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
        if aggregate_id in self.repository:
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
            pool = self.pool(period)
            pool.restate_opex(opex_total=opex_total, reason=reason, actor=principal.actor)
            return [pool]

        return self._transact(build)

    def close_period(self, principal: Principal, *, period: str, reason: str) -> Written:
        """Close a period: no more submissions or commitments."""
        require_role(principal, FINANCE, action="closing a period")

        def build() -> list[Aggregate]:
            pool = self.pool(period)
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
            metric = self.metric(code)
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
                                            actor=principal.actor)
            self._require_absent(batch.id, f"batch {batch_key} of {metric} was recorded already",
                                 field="batch_key")
            return [batch]

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
                policy = self.policy()
            except PolicyNotAdopted:
                policy = ScoringPolicy(actor=principal.actor)
            policy.adopt(terms=terms, rationale=rationale, actor=principal.actor)
            return [policy]

        return self._transact(build)

    # --- submissions -----------------------------------------------------------------------

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

        return self._transact(build)

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
        metrics = {}
        for code in codes:
            metric = self.metric(code)
            metrics[code] = MetricTarget(code, metric.baseline, metric.target)
        return assess([candidate(i, seq) for seq, i in enumerate(initiatives, start=1)],
                      metrics, terms, available=pool.available)

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
        rationale = rationale.strip()
        if len(rationale) > 4000:
            raise InvalidInput("rationale is longer than 4000 characters", field="rationale")
        def build() -> list[Aggregate]:
            initiative = self.initiative(initiative_id)
            if initiative.status not in UNDECIDED:
                raise InvalidTransition(
                    f"initiative {initiative.code} is {initiative.status}; it can no longer be "
                    "decided", status=initiative.status)
            if principal.actor in initiative.authors:
                raise SelfApproval("nobody decides on an initiative they submitted or revised")
            pool = self.pool(initiative.period)
            version, terms = self.policy_terms()
            if outcome == "approve" and initiative.cost > pool.available:
                # Cheap and final whatever the ranking says: a lost race ends here.
                raise InsufficientFunds(
                    f"{initiative.cost} requested but only {pool.available} of {pool.amount} "
                    "is available", requested=str(initiative.cost),
                    available=str(pool.available), pool=str(pool.amount))
            loaded = self._load_initiatives([i for i in pool.initiatives if i != initiative.id])
            others = [initiative if i == initiative.id else loaded[i] for i in pool.initiatives]
            ranking_position = self.position()
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

        return self._transact(build)

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
                                      actor=principal.actor)
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
            pool = self.pool(initiative.period)
            amount = pool.release(initiative_id=initiative.id, reason=reason,
                                  actor=principal.actor)
            initiative.cancel(reason=reason, amount_released=amount, actor=principal.actor)
            return [pool, initiative]

        return self._transact(build)


def candidate(initiative: Initiative, seq: int) -> Candidate:
    """The scoring model's view of an initiative."""
    return candidate_of(id=initiative.id, code=initiative.code, proposal=initiative.proposal,
                        seq=seq, status=initiative.status, pnl=initiative.pnl,
                        kind=initiative.kind)


__all__ = ["Governance", "ImpactClaim", "Proposal", "Written"]
