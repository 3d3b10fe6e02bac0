"""Tranches through the application and its read side (in memory): an approval in tranches
commits the first, a gate's release commits its tranche under the pool's turn; the card's
gates, the ledger's committed and gated amounts and the audit log follow, as of any
position; refusals write nothing."""

from __future__ import annotations

from decimal import Decimal

from domain.errors import (
    InvalidInput,
    InvalidTransition,
    SecondApproverRequired,
    SelfApproval,
    TranchesDoNotAddUp,
)
from domain.initiative import Gate
from governance.errors import Forbidden
from governance.principal import CX_EXEC
from governance.stores.readside import in_memory
from tests.builders import (
    CX_CHIEF,
    CX_DEPUTY,
    FINANCE_LEAD,
    M,
    World,
    person,
    rejected_without_writing,
)


def test_an_approval_in_tranches_and_the_releases_of_its_gates(world: World) -> None:
    gov = world.gov
    big = world.submit("I01", cost_m="24")  # above the 10 M four-eyes threshold
    gates = [Gate("pilot results", 6 * M), Gate("rollout", 14 * M)]
    rejected_without_writing(gov, TranchesDoNotAddUp, lambda: gov.decide(
        CX_CHIEF, initiative_id=big, outcome="approve", first_tranche=5 * M, gates=gates))
    rejected_without_writing(gov, InvalidInput, lambda: gov.decide(
        CX_CHIEF, initiative_id=big, outcome="defer", rationale="x", first_tranche=4 * M,
        gates=gates))
    gov.decide(CX_CHIEF, initiative_id=big, outcome="approve")  # the first of two
    approved = gov.decide(CX_DEPUTY, initiative_id=big, outcome="approve",
                          first_tranche=4 * M, gates=gates)
    assert approved.decision is not None and approved.decision.available_after == 96 * M
    assert gov.pool("FY2027").commitments[big] == 4 * M

    rejected_without_writing(gov, SelfApproval, lambda: gov.release_tranche(
        person("rob", CX_EXEC),  # the submitter, now also a CX executive
        initiative_id=big, gate="pilot results"))
    rejected_without_writing(gov, Forbidden, lambda: gov.release_tranche(
        FINANCE_LEAD, initiative_id=big, gate="pilot results"))
    rejected_without_writing(gov, InvalidInput, lambda: gov.release_tranche(
        CX_CHIEF, initiative_id=big, gate="no such gate"))
    before_release = gov.position()
    gov.release_tranche(CX_CHIEF, initiative_id=big, gate="pilot results", rationale="ok")
    assert gov.pool("FY2027").commitments[big] == 10 * M  # 6 M: at the threshold, one eyes
    first = gov.release_tranche(CX_CHIEF, initiative_id=big, gate="rollout", rationale="ok")
    assert first.decision is not None and gov.pool("FY2027").commitments[big] == 10 * M
    rejected_without_writing(gov, SecondApproverRequired, lambda: gov.release_tranche(
        CX_CHIEF, initiative_id=big, gate="rollout", rationale="ok"))
    gov.release_tranche(CX_DEPUTY, initiative_id=big, gate="rollout", rationale="ok")
    assert gov.pool("FY2027").commitments[big] == gov.initiative(big).committed_amount == 24 * M
    rejected_without_writing(gov, InvalidTransition, lambda: gov.release_tranche(
        CX_DEPUTY, initiative_id=big, gate="rollout", rationale="again"))

    models = in_memory(gov).read_models()
    card = models.initiative(str(big))
    assert card is not None and Decimal(card.committed) == 24 * M
    assert [(g.name, Decimal(g.amount), g.released, len(g.approvals)) for g in card.gates] == [
        ("pilot results", 6 * M, True, 1), ("rollout", 14 * M, True, 2)]
    assert len(card.decisions) == 5  # two approvals, a release, a first and a second
    ledger = models.ledger("FY2027")
    assert ledger is not None and Decimal(ledger.gated) == 0
    assert Decimal(ledger.net_committed) == 24 * M
    then = models.ledger("FY2027", as_of=str(before_release))
    assert then is not None
    assert (Decimal(then.net_committed), Decimal(then.gated)) == (4 * M, 20 * M)
    summaries = [e.summary for e in models.audit_events(limit=500)]
    assert any(s.startswith("Initiative.TrancheReleased: amount=14000000") and
               "gate=rollout" in s for s in summaries)
    assert any(s.startswith("Initiative.TrancheApprovalRecorded: gate=rollout")
               for s in summaries)
