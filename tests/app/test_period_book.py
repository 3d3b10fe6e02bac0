"""Decisions judged against the period's assessment brought forward from the last decision's
(issue 19, governance/stores/period_book.py) are judged as against a fresh `assess`.

Seeded generated histories (submissions, some mandatory or depending on others; approvals with
and without a justification; four-eyes first approvals; tranches; rejections; deferrals;
withdrawals; revisions; policy changes with and without guardrails; metric retargets; OpEx
restatements) run on two apps: one with the book, one that re-reads and re-ranks the period
for every decision as before. Before every decision the book's assessment equals `assess`
(ranks, scores, funded and recommended flags, reason codes, the cut line, totals), and every
command ends the same way on both apps: the same refusal, or the same decision record.
"""

# ruff: noqa: B023 (each command's lambda runs at once, on both apps, inside `both`)
from __future__ import annotations

import dataclasses
import random
from decimal import Decimal
from typing import Any

import pytest

from domain.errors import CxgovError
from domain.initiative import Gate
from domain.policy import Guardrail, PolicyTerms
from domain.portfolio import Assessment
from governance.app import Governance
from governance.stores.period_book import PeriodBooks
from tests.builders import CX_CHIEF, CX_DEPUTY, FINANCE_LEAD, INS_OWNER, RB_OWNER, M, World

EXECUTIVES = (CX_CHIEF, CX_DEPUTY)
GUARDRAILS = (
    (Guardrail("pnl", "RB", max_share=Decimal("0.5")),),
    (Guardrail("pnl", "INS", min_share=Decimal("0.2")),),
    (Guardrail("touchpoint", "Web", max_amount=Decimal(60) * M),),
)


class Rereading(PeriodBooks):
    """The judgement before issue 19: every decision reads and ranks its whole period."""

    def forward(self, *args: Any, **kwargs: Any) -> None:
        self.rereads += 1


def _view(assessment: Assessment) -> tuple[Any, ...]:
    """Everything a decision reads of an assessment, and more."""
    rows = tuple(
        (
            e.code,
            e.rank,
            e.scored.score,
            e.scored.cip,
            e.scored.candidate.status,
            e.funded,
            e.recommended,
            e.reason_code,
        )
        for e in assessment.entries
    )
    return (
        rows,
        assessment.cut_line_rank,
        assessment.available,
        assessment.funded_total,
        assessment.recommended_total,
        assessment.unmet,
        frozenset(assessment.greedy.funded),
    )


def _outcome(run: Any) -> Any:
    try:
        written = run()
    except CxgovError as refused:
        return type(refused).__name__, str(refused)
    if written.decision is None:
        return written.status
    return dataclasses.replace(written.decision, decision_id=None), written.status


def _history(seed: int, steps: int, env: dict[str, str] | None = None) -> tuple[int, int]:
    """Run a history on the app with the book (on `env`, else in memory) and on the twin
    that re-reads (in memory); (judgements brought forward, re-reads) of the first."""
    rnd = random.Random(seed)
    memory = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    apps = [Governance(env=env or memory), Governance(env=memory)]
    apps[1].books = Rereading()
    four_eyes, opex = rnd.choice(["5", "15", "1000"]), rnd.choice(["200", "600"])
    worlds = [World(gov, opex_m=opex, four_eyes_m=four_eyes) for gov in apps]
    codes: list[str] = []
    ids: list[Any] = []

    def both(command: Any) -> Any:
        outcomes = [
            _outcome(lambda gov=gov, w=w: command(gov, w))  # type: ignore[misc]
            for gov, w in zip(apps, worlds, strict=True)
        ]
        assert outcomes[0] == outcomes[1], f"seed {seed}: {outcomes}"
        return outcomes[0]

    def submit() -> None:
        code = f"I{len(codes) + 1:02d}"
        mandatory = rnd.random() < 0.08
        needs = tuple(rnd.sample(codes, 1)) if codes and rnd.random() < 0.15 else ()
        owner, pnl = rnd.choice([(RB_OWNER, "RB"), (RB_OWNER, "RB"), (INS_OWNER, "INS")])
        fields = dict(
            by=owner,
            pnl=pnl,
            cost_m=str(rnd.randint(1, 30)),
            confidence=rnd.choice(["0.5", "0.8", "1"]),
            impacts=(
                ("M1", str(rnd.randint(20, 130)), rnd.choice(["0.3", "0.7", "1"])),
                ("M2", str(rnd.randint(60, 90)), "0.5"),
            )[: rnd.randint(1, 2)],
            mandatory=mandatory,
            mandate_reason="regulator" if mandatory else None,
            dependencies=needs,
        )
        both(
            lambda gov, w: gov.submit_initiative(
                fields["by"],
                period=w.period,
                kind="pnl",
                pnl=fields["pnl"],
                proposal=_proposal(fields),
                code=code,
            )
        )
        codes.append(code)
        ids.append(apps[0].initiative_id(worlds[0].period, code))

    for _ in range(rnd.randint(4, 12)):
        submit()
    if rnd.random() < 0.4:  # guardrails from the start in some histories
        guarded = PolicyTerms(
            weights={"M1": 60, "M2": 40},
            guardrails=rnd.choice(GUARDRAILS),
            four_eyes_threshold=Decimal(four_eyes) * M,
        )
        both(lambda gov, w: gov.adopt_policy(CX_CHIEF, terms=guarded, rationale="guarded"))
    period = worlds[0].period
    for _ in range(steps):
        op, target, who = rnd.random(), rnd.choice(ids), rnd.choice(EXECUTIVES)
        if op < 0.55:  # a decision: the book's judgement first, then the same on both apps
            judged = apps[0].decision_assessment(period, target)
            assert _view(judged) == _view(apps[0].assess(period)), f"seed {seed}"
            outcome = rnd.choice(["approve", "approve", "approve", "reject", "defer"])
            rationale = rnd.choice(["", "", "because"])
            if outcome == "approve" and rnd.random() < 0.1:
                cost = apps[0].initiative(target).cost
                first = (cost / 2).quantize(Decimal(1))
                both(
                    lambda gov, w: gov.decide(
                        who,
                        initiative_id=target,
                        outcome="approve",
                        rationale=rationale,
                        first_tranche=first,
                        gates=(Gate("G2", cost - first),),
                    )
                )
            else:
                both(
                    lambda gov, w: gov.decide(
                        who, initiative_id=target, outcome=outcome, rationale=rationale
                    )
                )
        elif op < 0.68:
            submit()
        elif op < 0.73:
            both(
                lambda gov, w: gov.withdraw_initiative(
                    RB_OWNER, initiative_id=target, reason="not now"
                )
            )
        elif op < 0.78:
            cost = Decimal(rnd.randint(1, 30)) * M
            both(
                lambda gov, w: gov.revise_initiative(
                    RB_OWNER, initiative_id=target, changes={"cost": cost}
                )
            )
        elif op < 0.83:
            guard = rnd.choice([(), (), *GUARDRAILS])
            weights = rnd.choice([{"M1": 60, "M2": 40}, {"M1": 20, "M2": 80}])
            terms = PolicyTerms(
                weights=weights, guardrails=guard, four_eyes_threshold=Decimal(four_eyes) * M
            )
            both(lambda gov, w: gov.adopt_policy(CX_CHIEF, terms=terms, rationale="change"))
        elif op < 0.87:
            target_m = Decimal(rnd.choice([12, 24, 48]))
            both(
                lambda gov, w: gov.retarget_metric(
                    CX_CHIEF, code="M1", target=target_m, reason="new target"
                )
            )
        elif op < 0.9:
            opex = Decimal(rnd.choice([300, 600, 1000])) * M
            both(
                lambda gov, w: gov.restate_opex(
                    FINANCE_LEAD, period=w.period, opex_total=opex, reason="restated"
                )
            )
        elif op < 0.94:
            why = rnd.choice(["", "ok"])
            both(
                lambda gov, w: gov.release_tranche(
                    who, initiative_id=target, gate="G2", rationale=why
                )
            )
        else:
            both(lambda gov, w: gov.cancel_initiative(who, initiative_id=target, reason="stopped"))
    assert apps[1].books.hits == 0
    for gov in apps:
        gov.close()
    return apps[0].books.hits, apps[0].books.rereads


def _proposal(fields: dict[str, Any]) -> Any:
    from tests.builders import proposal

    return proposal(**{k: v for k, v in fields.items() if k not in ("by", "pnl")})


@pytest.mark.parametrize("seed", range(24))
def test_the_book_judges_as_a_fresh_assessment(seed: int) -> None:
    _, rereads = _history(seed, steps=70)
    assert rereads > 0


def test_approvals_that_follow_the_recommendation_are_brought_forward() -> None:
    """Across the histories most judgements come from the book (the test above would pass
    just as well if the book were never used)."""
    hits = rereads = 0
    for seed in range(24, 32):
        h, r = _history(seed, steps=70)
        hits, rereads = hits + h, rereads + r
    assert hits > rereads > 0


@pytest.mark.pg
@pytest.mark.parametrize("seed", range(3))
def test_the_book_on_postgresql(pg_env: dict[str, str], seed: int) -> None:
    """The same on PostgreSQL: the aggregate cache, and the log read between decisions."""
    hits, rereads = _history(100 + seed, steps=50, env=pg_env)
    assert hits > 0 and rereads > 0
