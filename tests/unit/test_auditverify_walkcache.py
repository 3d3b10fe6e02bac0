"""The kept walk (auditverify/walkcache.py) ranks every decision exactly as ranking the period
from scratch does: compared decision by decision, every initiative's entry, the cut line, the
funded set and the pool, on generated histories (large periods with departures and
dependencies, and the service's own histories with guardrails, plans, tranches, revisions,
restatements, stops and descopes); and the findings of the replay are the same."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from auditverify.decisions import DECISIONS, FOLDED, _History, payload, uuid_key
from auditverify.model import Row
from auditverify.replay import check_decision_ranks
from ops.bench.audit_decisions import history
from tests.app.decision_histories import generated_rows


def lockstep(rows: Sequence[Row]) -> tuple[int, int]:
    """Fold the rows into a kept-walk replay and a from-scratch one; at every decision's
    ranking position (as the replay ranks it), compare their rankings of its period in full.
    Returns (decisions, rankings kept)."""
    wanted: dict[int, list[str]] = {}
    for row in rows:
        assert row.event is not None
        if row.event.topic.removeprefix("cxgov.") in DECISIONS:
            at = int(payload(row.event.state)["decision"]["ranking_position"])
            wanted.setdefault(at, []).append(row.event.originator_id)
    kept, scratch = _History(), _History(incremental=False)
    decisions = 0

    def compare(at: int) -> None:
        nonlocal decisions
        for initiative in wanted.pop(at, ()):
            decisions += 1
            target = scratch.initiatives.get(uuid_key(initiative))
            ours, theirs = kept.ranking(initiative), scratch.ranking(initiative)
            assert (ours is None) == (theirs is None)
            if ours is None or theirs is None or target is None:
                continue
            codes = [i.code for i in scratch.by_pool[target.period_pool]]
            assert [ours.entry(c) for c in codes] == [theirs.entry(c) for c in codes], at
            assert (ours.cut_line_rank, ours.available, ours.plan, ours.guardrails,
                    ours.unguarded) == (theirs.cut_line_rank, theirs.available, theirs.plan,
                                        theirs.guardrails, theirs.unguarded), at
            assert set(ours.funded) == set(theirs.funded), at

    compare(0)
    for row in rows:
        event = row.event
        assert event is not None
        if event.topic.removeprefix("cxgov.") in FOLDED:
            kept.apply(event.topic, event.originator_id, payload(event.state))
            scratch.apply(event.topic, event.originator_id, payload(event.state))
        compare(row.position)
    assert not wanted and scratch.kept == 0
    return decisions, kept.kept


@pytest.mark.parametrize(("seed", "departures", "needs", "mandatory", "served"),
                         [(1, 0.02, 0.03, 0.02, 0.5), (2, 0.2, 0.03, 0.02, 0.1),
                          (3, 0.05, 0.3, 0.02, 0.1), (4, 0.5, 0.1, 0.02, 0.01),
                          (5, 0.0, 0.0, 0.02, 0.5), (6, 0.1, 0.6, 0.02, 0.01),
                          (7, 0.05, 0.4, 0.2, 0.01), (8, 0.02, 0.8, 0.1, 0.01),
                          (9, 0.1, 0.5, 0.5, 0.01)])
def test_the_kept_walk_ranks_as_from_scratch_in_a_large_period(
    seed: int, departures: float, needs: float, mandatory: float, served: float,
) -> None:
    rows, made = history(120, 200, seed, departures=departures, needs=needs,
                         mandatory=mandatory)
    decisions, kept = lockstep(rows)
    assert decisions == made > 100
    assert kept > decisions * served  # the kept walk was used (most of the time when little
    # departs from the recommendation)
    assert check_decision_ranks(lambda: rows) == check_decision_ranks(
        lambda: rows, incremental=False) == (made, [])


def test_the_kept_walk_ranks_as_from_scratch_in_the_services_own_histories() -> None:
    decisions = kept = 0
    for seed in range(40):
        rows = generated_rows(seed, steps=20)
        made, served = lockstep(rows)
        decisions, kept = decisions + made, kept + served
        assert check_decision_ranks(lambda rows=rows: rows) == check_decision_ranks(
            lambda rows=rows: rows, incremental=False)
    assert decisions > 150 and kept > 0


def test_the_walk_knows_the_undecided_statuses_the_replay_knows() -> None:
    from auditverify import decisions, walkcache

    assert walkcache.UNDECIDED == decisions.UNDECIDED
