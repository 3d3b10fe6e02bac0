"""A reproducible event history, written fast: many events per save(), from a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.initiative import DecisionRecord, Initiative, Proposal
from domain.lifecycle import Outcome
from domain.metric import ObservationBatch
from domain.policy import PolicyTerms
from domain.pool import FundingPool
from domain.values import ImpactClaim, Reading
from governance.app import Governance
from governance.principal import CX_EXEC, FINANCE, INGEST, Principal

M = Decimal(1_000_000)
FINANCE_LEAD = Principal(subject="bench.finance", roles=frozenset({FINANCE}), issuer="bench")
CX = Principal(subject="bench.cx", roles=frozenset({CX_EXEC}), issuer="bench")
INGESTER = Principal(subject="bench.ingest", roles=frozenset({INGEST}), issuer="bench")
OWNER_ACTOR = "bench|bench.owner"
PER_SAVE = 100
PER_PERIOD = 500  # initiatives per fiscal period before the next one opens
METRICS = ("M1", "M2")
#: Shares of generator steps (the rest are observation batches, one event each).
SUBMIT, REVISE, DECIDE = 0.025, 0.01, 0.015


def setup_world(gov: Governance, *, period: str = "FY2027", opex_m: str = "100000",
                four_eyes_m: str = "1000") -> None:
    """Period, P&Ls RB and INS, scenario S1, metrics M1 and M2, policy v1 (commands)."""
    gov.open_period(FINANCE_LEAD, code=period, currency="USD",
                    opex_total=Decimal(opex_m) * M, cap_percent=Decimal(10))
    gov.register_pnl(FINANCE_LEAD, code="RB", name="Retail Banking", owners=["bench.owner"])
    gov.register_pnl(FINANCE_LEAD, code="INS", name="Insurance", owners=["bench.owner"])
    gov.define_scenario(CX, code="S1", name="Open an account", pnl="RB")
    gov.define_metric(CX, code="M1", customer_phrasing="Usable account within a day",
                      operational_metric="Median hours to first transaction", unit="hours",
                      direction="decrease", baseline=Decimal(120), target=Decimal(24),
                      scenario="S1", pnl="RB")
    gov.define_metric(CX, code="M2", customer_phrasing="One contact fixes it",
                      operational_metric="First contact resolution", unit="%",
                      direction="increase", baseline=Decimal(68), target=Decimal(85))
    gov.adopt_policy(CX, terms=PolicyTerms(weights={"M1": 60, "M2": 40},
                                           four_eyes_threshold=Decimal(four_eyes_m) * M),
                     rationale="benchmark policy")


def proposal(rng: random.Random, title: str) -> Proposal:
    """A valid proposal with random cost and impact."""
    return Proposal(
        title=title, problem="Customers wait days.", scenario="S1",
        touchpoints=("Mobile", "Web"), functional_areas=("Onboarding ops", "IT"),
        cost=Decimal(rng.randint(1, 90)) * M / 10, confidence=Decimal("0.8"),
        expected_impacts=(ImpactClaim("M1", Decimal(rng.randint(30, 110)), Decimal("0.5")),),
        dependencies=(), mandatory=False, mandate_reason=None)


@dataclass
class Generator:
    """Appends a seeded mix of events to a Governance log, PER_SAVE aggregates per save()."""

    gov: Governance
    seed: int = 7
    rng: random.Random = field(init=False)
    pool: FundingPool | None = field(init=False, default=None)
    undecided: dict[UUID, Initiative] = field(init=False, default_factory=dict)
    periods: int = field(init=False, default=0)
    submitted: int = field(init=False, default=0)
    steps: int = field(init=False, default=0)
    counts: dict[str, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def write(self, events: int) -> int:
        """Append at least `events` events; return the log position reached."""
        target = self.gov.position() + events
        day = datetime(2027, 1, 1, tzinfo=UTC)
        while self.gov.position() < target:
            pending: dict[UUID, Aggregate] = {}
            budget = min(PER_SAVE, target - self.gov.position())
            while len(pending) < budget:
                self.steps += 1
                self._step(pending, day + timedelta(minutes=self.steps))
            self.gov.save(*pending.values())
        return self.gov.position()

    def _count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def _step(self, pending: dict[UUID, Aggregate], when: datetime) -> None:
        roll = self.rng.random()
        if roll < SUBMIT or self.pool is None:
            self._submit(pending)
        elif roll < SUBMIT + REVISE and self.undecided:
            initiative = self.rng.choice(list(self.undecided.values()))
            initiative.revise(changes={"title": f"{initiative.code} rev {self.steps}"},
                              reason="sharper scope", actor=OWNER_ACTOR)
            pending[initiative.id] = initiative
            self._count("revisions")
        elif roll < SUBMIT + REVISE + DECIDE and self.undecided:
            self._decide(pending)
        else:
            metric = self.rng.choice(METRICS)
            batch = ObservationBatch.record(
                metric=metric, batch_key=f"g{self.seed}-{self.steps}", source="bench",
                readings=(Reading(Decimal(self.rng.randint(60, 120)), when, 250),),
                actor=INGESTER.actor, now=when)
            pending[batch.id] = batch
            self._count("observations")

    def _submit(self, pending: dict[UUID, Aggregate]) -> None:
        if self.pool is None or self.submitted >= PER_PERIOD * (self.periods or 1):
            if self.pool is not None:
                pending[self.pool.id] = self.pool
            self.periods += 1
            code = f"FY{2026 + self.periods}"
            pool_id = FundingPool.create_id(code)
            if pool_id in self.gov.repository:
                self.pool = self.gov.repository.get(pool_id)
            else:
                self.pool = FundingPool.open(period=code, currency="USD",
                                             opex_total=Decimal(20_000) * M,
                                             cap_percent=Decimal(10), actor=FINANCE_LEAD.actor)
            self.undecided.clear()
        pool = self.pool
        self.submitted += 1
        code = f"G{self.submitted:06d}"
        initiative = Initiative.submit(period=pool.period, code=code, kind="pnl", pnl="RB",
                                       proposal=proposal(self.rng, f"Initiative {code}"),
                                       actor=OWNER_ACTOR)
        pool.enlist(initiative_id=initiative.id, code=code, actor=OWNER_ACTOR)
        pending[pool.id] = pool
        pending[initiative.id] = initiative
        self.undecided[initiative.id] = initiative
        self._count("submissions")

    def _decide(self, pending: dict[UUID, Aggregate]) -> None:
        assert self.pool is not None
        pool = self.pool
        initiative = self.undecided.pop(self.rng.choice(list(self.undecided)))
        outcome = self.rng.choice(("approve", "approve", "reject", "defer"))
        if outcome == "approve" and initiative.cost > pool.available:
            outcome = "reject"
        approve = outcome == "approve"
        decision = DecisionRecord(
            decision_id=uuid4(), outcome=Outcome(outcome), rationale="benchmark mix",
            departure=False,
            recommended=approve, rank=None, score=Decimal(1), cip=Decimal(1),
            policy_version=1, available_before=pool.available,
            available_after=pool.available - initiative.cost if approve else pool.available,
            ranking_position=self.gov.position(), cut_line_rank=None,
            approvals=(CX.actor,) if approve else ())
        if approve:
            pool.commit(initiative_id=initiative.id, amount=initiative.cost,
                        decision_id=decision.decision_id, actor=CX.actor)
            initiative.approve(decision=decision, actor=CX.actor)
            pending[pool.id] = pool
        elif outcome == "reject":
            initiative.reject(decision=decision, actor=CX.actor)
        else:
            initiative.defer(decision=decision, actor=CX.actor)
        pending[initiative.id] = initiative
        self._count(f"decisions_{outcome}")
