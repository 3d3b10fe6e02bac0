"""Fair shares on the living demo (issue 16 acceptance, audited): with its year of history
applied (decisions, spend, a descope, a stop), the Method of Equal Shares, plain and
completed, equals pabutools' outcome at positions along the history, not only on the
portfolio as imported (tests/unit/test_fairshare.py); and the figures the API guide quotes
for the living demo hold."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction

import pytest

from governance.bootstrap import Runtime
from governance.entrypoints.cli import bundled_company
from governance.entrypoints.demo_history import HistoryReport, apply_history
from projections.fairshare import FairShares, entitlements, fair_shares, projects_of
from tests.api.conftest import harborview_runtime
from tests.unit.test_fairshare import oracle


@pytest.fixture(scope="module")
def living() -> Iterator[tuple[Runtime, HistoryReport]]:
    runtime = harborview_runtime()
    report = apply_history(runtime.app, bundled_company())
    yield runtime, report
    runtime.close()


def _at(runtime: Runtime, position: int) -> tuple[FairShares, bool, bool]:
    """Fair shares of FY2027 as of `position`, and whether plain and completed equal shares
    equal pabutools' outcome on the same instance."""
    snapshot = runtime.read_models().snapshot(as_of=position)
    ledger, rec = snapshot.ledger("FY2027"), snapshot.recommendation("FY2027")
    assert ledger is not None and rec is not None
    rows, pnls = snapshot.ranking("FY2027"), snapshot.pnls()
    _, weights = entitlements(pnls)
    found = fair_shares(rows, ledger, pnls, rec)
    projects = projects_of(rows, weights)
    budget = Fraction(Decimal(ledger.available))
    plain, completed = found.plans[-2:]
    return (
        found,
        set(plain.keys) == oracle(projects, weights, budget),
        set(completed.keys) == oracle(projects, weights, budget, budget / 100),
    )


def test_equal_shares_equals_pabutools_along_the_living_demo(
    living: tuple[Runtime, HistoryReport],
) -> None:
    runtime, report = living
    span = report.last_position - report.decision_point
    positions = sorted(
        {
            report.decision_point,
            *(report.decision_point + span * k // 6 for k in range(1, 6)),
            report.last_position,
        }
    )
    availables = set()
    for position in positions:
        found, plain_equal, completed_equal = _at(runtime, position)
        assert plain_equal and completed_equal, position
        availables.add(found.available)
    assert len(availables) > 2, "the history moves the pool: the instances differ"


def test_the_living_demos_figures_the_guide_quotes(living: tuple[Runtime, HistoryReport]) -> None:
    runtime, report = living
    found, _, _ = _at(runtime, report.last_position)
    _, optimal, plain, completed = found.plans
    assert Decimal(found.available) == Decimal(6_300_000)
    assert Decimal(plain.total_cost) == Decimal(2_500_000)
    assert Decimal(optimal.total_cost) == Decimal(4_000_000)
    assert set(completed.keys) == set(optimal.keys)
    assert Decimal(found.value_given_up or "-1") == 0


def test_a_knock_on_counts_committed_money_as_the_ledger_does(
        living: tuple[Runtime, HistoryReport]) -> None:
    # the living demo has released money (I02 stopped, I21 descoped): the knock-on's committed
    # is net of releases, so committed + available is the pool, as on the ledger page
    from projections.knockon import knock_on

    runtime, _ = living
    snapshot = runtime.read_models().snapshot()
    ledger = snapshot.ledger("FY2027")
    assert ledger is not None and Decimal(ledger.committed) > Decimal(ledger.net_committed)
    rows = snapshot.ranking("FY2027")
    said = knock_on(rows, ledger, code="I03", outcome="approve")
    assert Decimal(said.committed_before) == Decimal(ledger.net_committed)
    assert Decimal(said.committed_before) + Decimal(said.available_before) == Decimal(
        ledger.amount)
    assert Decimal(said.committed_after) - Decimal(said.committed_before) == Decimal(4_000_000)
