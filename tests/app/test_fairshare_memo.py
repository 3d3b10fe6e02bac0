"""Fair shares are memoised by their inputs (issue 17): equal inputs give the result computed
before; any input the computation reads that changes gives a fresh one, equal to computing it
afresh (the Method of Equal Shares itself is checked against pabutools in
tests/unit/test_fairshare.py)."""

from __future__ import annotations

from decimal import Decimal

from governance.app import Governance
from governance.stores.readside import in_memory
from projections import fairshare
from projections.fairshare import compute_fair_shares, fair_shares
from tests.builders import INS_OWNER, World


def test_equal_inputs_reuse_the_result_and_changed_ones_recompute(gov: Governance) -> None:
    world = World(gov)
    for n, cost in enumerate(("30", "25", "40", "12"), start=1):
        world.submit(f"I{n:02d}", cost_m=cost)
    world.submit("I05", by=INS_OWNER, pnl="INS", cost_m="20")
    models = in_memory(gov).read_models()
    fairshare._MEMO.clear()

    def inputs():  # type: ignore[no-untyped-def]
        snap = models.snapshot()
        return (snap.ranking("FY2027"), snap.ledger("FY2027"), snap.pnls(),
                snap.recommendation("FY2027", unfunded_limit=0))

    args = inputs()
    first = fair_shares(*args)
    assert fair_shares(*inputs()) is first  # another request at the same state
    assert first == compute_fair_shares(*args)

    rows, ledger, pnls, rec = args
    smaller = ledger.model_copy(update={"available": str(Decimal(ledger.available) / 3)})
    changed = fair_shares(rows, smaller, pnls, rec)
    assert changed is not first and changed == compute_fair_shares(rows, smaller, pnls, rec)
    assert changed.available != first.available

    world.submit("I06", cost_m="5")  # a new position with a different ranking
    later = inputs()
    assert fair_shares(*later) == compute_fair_shares(*later) != first
