"""Fair shares (issue 16, part 3): our Method of Equal Shares equals pabutools' outcome, on the
Harborview demo and on seeded generated instances, and the plan's figures add up."""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from math import gcd, lcm

import pytest
from pabutools.election import (
    Additive_Cardinal_Sat,
    CardinalBallot,
    CardinalProfile,
    Instance,
)
from pabutools.election import Project as PbProject
from pabutools.rules import method_of_equal_shares
from pabutools.tiebreaking import TieBreakingRule

from governance.bootstrap import Runtime
from governance.principal import CX_EXEC, PNL_OWNER, Principal
from governance.read_access import read_as
from projections.fairshare import (
    COMPLETION_RUNS,
    FairShares,
    Project,
    completed_equal_shares,
    entitlements,
    equal_shares,
    fair_shares,
    projects_of,
)
from projections.rows import PnlRow
from tests.api.conftest import harborview_runtime

GENERATED = 200


def oracle(projects: Sequence[Project], weights: Mapping[str, Fraction],
           budget: Fraction, step: Fraction | None = None) -> set[str]:
    """pabutools' Method of Equal Shares on the same instance. A P&L with budget share w is
    w*M identical voters (M voters in all, each with budget/M, pabutools' equal budgets);
    each copy's utility is the P&L's utility divided by its number of copies. With `step`
    (our completion's rise of the whole notional budget), pabutools' `voter_budget_increment`
    of step / M per voter."""
    scale = lcm(*(w.denominator for w in weights.values()))
    copies = {v: int(w * scale) for v, w in weights.items()}
    common = 0
    for n in copies.values():
        common = gcd(common, n)
    copies = {v: n // max(common, 1) for v, n in copies.items()}
    pb = {p.key: PbProject(p.key, p.cost) for p in projects}
    instance = Instance(pb.values(), budget_limit=budget)
    ballots = []
    for voter, n in copies.items():
        if n == 0:
            continue
        scores = {pb[p.key]: p.utilities[voter] / n for p in projects
                  if p.utilities.get(voter, 0) > 0}
        ballots.extend(CardinalBallot(scores) for _ in range(n))
    profile = CardinalProfile(ballots, instance=instance)
    rank = {p.key: p.rank for p in projects}
    ties = TieBreakingRule(lambda _inst, _prof, proj: rank[proj.name])
    increment = None if step is None else step / sum(copies.values())
    outcome = method_of_equal_shares(instance, profile, sat_class=Additive_Cardinal_Sat,
                                     tie_breaking=ties, voter_budget_increment=increment)
    return {p.name for p in outcome}


@pytest.fixture(scope="module")
def demo() -> Iterator[Runtime]:
    runtime = harborview_runtime()
    yield runtime
    runtime.close()


def demo_fair_shares(runtime: Runtime) -> tuple[FairShares, list[Project], dict[str, Fraction],
                                                Fraction]:
    snapshot = runtime.read_models().snapshot()
    period = snapshot.ledgers()[-1].period
    ledger = snapshot.ledger(period)
    rec = snapshot.recommendation(period)
    assert ledger is not None and rec is not None
    rows, pnls = snapshot.ranking(period), snapshot.pnls()
    _, weights = entitlements(pnls)
    return (fair_shares(rows, ledger, pnls, rec), projects_of(rows, weights), weights,
            Fraction(Decimal(ledger.available)))


def test_demo_equal_shares_equals_pabutools(demo: Runtime) -> None:
    found, projects, weights, budget = demo_fair_shares(demo)
    fair, completed = found.plans[-2:]
    assert (fair.rule, completed.rule) == ("equal_shares", "equal_shares_completed")
    assert found.basis == "opex" and len(weights) == 4
    assert set(fair.keys) == oracle(projects, weights, budget)
    assert fair.keys, "the demo funds something fairly"
    assert set(completed.keys) == oracle(projects, weights, budget, budget / 100)


def test_demo_figures_add_up(demo: Runtime) -> None:
    found, _, weights, budget = demo_fair_shares(demo)
    assert [p.rule for p in found.plans] == ["greedy", "optimal", "equal_shares",
                                             "equal_shares_completed"]
    optimal, plain, fair = found.plans[1:]
    assert Decimal(optimal.value_given_up or "1") == 0
    assert Decimal(found.value_given_up or "-1") == (
        Decimal(optimal.total_value) - Decimal(fair.total_value))
    assert Decimal(found.value_given_up or "-1") >= 0  # the optimum is the optimum
    for plan in found.plans:
        assert Decimal(plan.total_cost) <= Decimal(found.available)
        assert abs(sum(Decimal(r.spend) for r in plan.by_pnl) - Decimal(plan.total_cost)) \
            <= Decimal("0.05")
        assert abs(sum(Decimal(r.value) for r in plan.by_pnl) - Decimal(plan.total_value)) \
            <= Decimal("0.05")
    # a P&L never pays more than its entitlement of the budget under equal shares
    assert plain.notional_budget == found.available
    for row in plain.by_pnl:
        assert row.paid is not None
        share = weights[row.pnl] * budget
        assert Decimal(row.paid) <= Decimal(share.numerator) / share.denominator \
            + Decimal("0.01")


def generated(seed: int) -> tuple[list[Project], dict[str, Fraction], Fraction]:
    rng = random.Random(seed)
    pnls = [PnlRow(code=f"P{i}", name=f"P&L {i}", opex=str(rng.randint(0, 9)), owners=[])
            for i in range(rng.randint(1, 5))]
    _, weights = entitlements(pnls)
    projects = []
    for n in range(rng.randint(1, 30)):
        cip = Fraction(rng.randint(0, 400), rng.choice((1, 4, 10)))
        owner = rng.choice([None, *weights])
        utilities = ({v: cip * w for v, w in weights.items()} if owner is None
                     else {owner: cip})
        projects.append(Project(key=f"I{n:02d}", cost=Fraction(rng.randint(1, 60) * 50_000),
                                rank=n + 1, utilities={v: u for v, u in utilities.items()
                                                        if u > 0}))
    total = sum((p.cost for p in projects), Fraction(0))
    budget = total * Fraction(rng.randint(20, 100), 100)
    return projects, weights, budget


@pytest.mark.parametrize("seed", range(GENERATED))
def test_generated_equal_shares_equals_pabutools(seed: int) -> None:
    projects, weights, budget = generated(seed)
    ours = equal_shares(projects, {v: budget * w for v, w in weights.items()})
    assert set(ours.selected) == oracle(projects, weights, budget)
    step = budget * Fraction(random.Random(seed).choice((2, 5, 10)), 100)
    done, ran_with = completed_equal_shares(projects, weights, budget, step)
    assert set(done.selected) == oracle(projects, weights, budget, step)
    assert ran_with >= budget
    assert sum((p.cost for p in projects if p.key in done.selected), Fraction(0)) <= budget
    spent = sum((sum(p.values(), Fraction(0)) for p in ours.payments.values()), Fraction(0))
    assert spent == sum((p.cost for p in projects if p.key in ours.selected), Fraction(0))
    assert all(left >= 0 for left in ours.budgets_left.values())


def test_ties_go_to_the_better_ranked_initiative() -> None:
    twins = [Project(key=k, cost=Fraction(10), rank=r, utilities={"A": Fraction(5)})
             for k, r in (("Z", 1), ("A", 2))]
    assert equal_shares(twins, {"A": Fraction(10)}).selected == ("Z",)


def test_a_pnl_cannot_spend_another_pnls_share() -> None:
    """Greedy by value would fund A's two initiatives; equal shares funds one of each."""
    projects = [Project(key="A1", cost=Fraction(50), rank=1, utilities={"A": Fraction(100)}),
                Project(key="A2", cost=Fraction(50), rank=2, utilities={"A": Fraction(90)}),
                Project(key="B1", cost=Fraction(50), rank=3, utilities={"B": Fraction(40)})]
    found = equal_shares(projects, {"A": Fraction(50), "B": Fraction(50)})
    assert found.selected == ("A1", "B1")
    assert found.payments["B1"] == {"B": Fraction(50)}


def test_equal_budgets_without_opex() -> None:
    pnls = [PnlRow(code="A", name="A", opex="10", owners=[]),
            PnlRow(code="B", name="B", opex=None, owners=[])]
    assert entitlements(pnls) == ("equal", {"A": Fraction(1, 2), "B": Fraction(1, 2)})


def test_read_access_blanks_codes_a_pnl_owner_may_not_read(demo: Runtime) -> None:
    snapshot = demo.read_models().snapshot()
    period = snapshot.ledgers()[-1].period
    execs = read_as(Principal("exec", frozenset({CX_EXEC})), snapshot).fair_shares(period)
    owner = read_as(Principal("owner", frozenset({PNL_OWNER}), pnls=frozenset({"RB"})),
                    snapshot).fair_shares(period)
    assert execs is not None and owner is not None
    assert None not in execs.plans[-1].keys
    assert None in owner.plans[-1].keys
    assert owner.value_given_up == execs.value_given_up
    assert len(owner.plans[-1].keys) == len(execs.plans[-1].keys)


def test_completion_keeps_the_last_outcome_that_fits_when_its_runs_are_spent() -> None:
    projects = [Project(key="A1", cost=Fraction(60), rank=1, utilities={"A": Fraction(10)}),
                Project(key="B1", cost=Fraction(70), rank=2, utilities={"B": Fraction(10)})]
    weights = {"A": Fraction(1, 2), "B": Fraction(1, 2)}
    assert equal_shares(projects, {"A": Fraction(50), "B": Fraction(50)}).selected == ()
    done, ran_with = completed_equal_shares(projects, weights, Fraction(100), Fraction(10))
    assert (done.selected, ran_with) == (("A1",), Fraction(120))  # then B1 would not fit
    capped, _ = completed_equal_shares(projects, weights, Fraction(100), Fraction(1), runs=3)
    assert capped.selected == ()
    assert COMPLETION_RUNS >= 1000
