"""Clean decision histories made by the service itself (in memory), as event rows the offline
verifier reads: the domain decides, `auditverify` re-derives (issue 18, item 5)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from auditverify.model import EventRow, Row
from domain.errors import CxgovError
from domain.initiative import Gate
from domain.policy import Guardrail, PolicyTerms
from governance.app import Governance
from tests.builders import CX_CHIEF, CX_DEPUTY, FINANCE_LEAD, INS_OWNER, RB_OWNER, M, World

EXECUTIVES = (CX_CHIEF, CX_DEPUTY)
GUARDRAILS = (
    (Guardrail("pnl", "RB", max_share=Decimal("0.3")),),
    (Guardrail("pnl", "INS", min_share=Decimal("0.2")),),
    (
        Guardrail("pnl", "INS", min_share=Decimal("0.1"), max_share=Decimal("0.25")),
        Guardrail("touchpoint", "Web", max_amount=Decimal(40) * M),
    ),
    (
        Guardrail("functional_area", "IT", min_amount=Decimal(15) * M),
        Guardrail("pnl", "RB", max_share=Decimal("0.5")),
    ),
)


def rows_of(gov: Governance) -> list[Row]:
    """The stored events as the verifier reads them (no chain: the rules need none)."""
    notifications = gov.recorder.select_notifications(start=1, limit=1_000_000)
    return [
        Row(n.id, EventRow(str(n.originator_id), n.originator_version, n.topic, n.state), None)
        for n in notifications
    ]


def generated_rows(seed: int, *, steps: int = 30) -> list[Row]:
    """The rows of generate(seed, steps=steps), its service closed."""
    gov, _ = generate(seed, steps=steps)
    try:
        return rows_of(gov)
    finally:
        gov.close()


def generate(seed: int, *, steps: int = 30) -> tuple[Governance, World]:
    """A random clean history through the service's commands: submissions (some mandatory,
    some depending on others), decisions by two executives with and without a rationale (the
    refused ones leave no event), tranches, revisions, spend, descopes, stops, restatements, a
    plan of record or guardrails (P&L, touchpoint, functional area; shares and amounts) in
    some histories."""
    rnd = random.Random(seed)
    gov = Governance(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    world = World(
        gov, opex_m=str(rnd.choice([150, 300, 1000])), four_eyes_m=str(rnd.choice([5, 10, 15]))
    )
    codes: list[str] = []
    ids = []
    for n in range(1, rnd.randint(4, 9)):
        code = f"I{n:02d}"
        mandatory = rnd.random() < 0.15
        needs = tuple(rnd.sample(codes, 1)) if codes and rnd.random() < 0.2 else ()
        owner = rnd.choice([(RB_OWNER, "RB"), (RB_OWNER, "RB"), (INS_OWNER, "INS")])
        ids.append(
            world.submit(
                code,
                by=owner[0],
                pnl=owner[1],
                cost_m=str(rnd.randint(1, 25)),
                confidence=rnd.choice(["0.5", "0.8", "1"]),
                impacts=(
                    ("M1", str(rnd.randint(20, 130)), str(rnd.choice(["0.3", "0.7", "1"]))),
                    ("M2", str(rnd.randint(60, 90)), "0.5"),
                )[: rnd.randint(1, 2)],
                mandatory=mandatory,
                mandate_reason="regulator" if mandatory else None,
                dependencies=needs,
            )
        )
        codes.append(code)
    if rnd.random() < 0.3:  # guardrails: the guarded cut line (decisions 107, 123)
        gov.adopt_policy(
            CX_CHIEF,
            rationale="guardrails",
            terms=PolicyTerms(
                weights={"M1": 60, "M2": 40},
                four_eyes_threshold=Decimal(10) * M,
                guardrails=rnd.choice(GUARDRAILS),
            ),
        )
    if rnd.random() < 0.15:  # a plan of record: decisions are judged against it
        gov.save_plan(CX_CHIEF, period=world.period, name="base", budget=Decimal(60) * M)
        gov.adopt_plan(CX_CHIEF, period=world.period, name="base", rationale="board")
    for _ in range(steps):
        op, target = rnd.random(), rnd.choice(ids)
        who = rnd.choice(EXECUTIVES)
        try:
            if op < 0.45:
                gov.decide(
                    who,
                    initiative_id=target,
                    outcome=rnd.choice(["approve", "approve", "reject", "defer"]),
                    rationale=rnd.choice(["", "because"]),
                )
            elif op < 0.55:
                cost = gov.initiative(target).cost
                first = (cost * Decimal(rnd.choice([2, 4, 5])) / 10).quantize(Decimal(1))
                gov.decide(
                    who,
                    initiative_id=target,
                    outcome="approve",
                    rationale=rnd.choice(["", "because"]),
                    first_tranche=first,
                    gates=(Gate("G2", cost - first),),
                )
            elif op < 0.62:
                gov.release_tranche(
                    who, initiative_id=target, gate="G2", rationale=rnd.choice(["", "because"])
                )
            elif op < 0.68:
                gov.revise_initiative(
                    RB_OWNER,
                    initiative_id=target,
                    changes={"cost": Decimal(rnd.randint(1, 25)) * M},
                )
            elif op < 0.75:
                gov.record_spend(
                    FINANCE_LEAD,
                    initiative_id=target,
                    amount=Decimal(rnd.randint(1, 6)) * M,
                    spent_on=date(2026, 1, 5),
                )
            elif op < 0.8:
                committed = gov.initiative(target).committed_amount
                gov.descope_initiative(
                    who,
                    initiative_id=target,
                    reason="smaller",
                    new_cost=(committed / 2).quantize(Decimal(1)),
                )
            elif op < 0.86:
                gov.cancel_initiative(who, initiative_id=target, reason="stopped")
            elif op < 0.92:
                gov.restate_opex(
                    FINANCE_LEAD,
                    period=world.period,
                    opex_total=Decimal(rnd.choice([100, 200, 400, 1000])) * M,
                    reason="restated",
                )
            else:
                gov.decide(RB_OWNER, initiative_id=target, outcome="approve", rationale="mine")
        except CxgovError:
            pass
    return gov, world
