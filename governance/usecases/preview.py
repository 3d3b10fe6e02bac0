"""Score preview: what a proposal would score and where it would rank, before submitting."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid4

from domain.errors import NotFound
from domain.initiative import Proposal
from domain.lifecycle import Status
from domain.portfolio import RankedEntry, assess
from domain.scoring import Candidate, MetricTarget, candidate_of
from governance.app import Governance
from governance.usecases.base import candidate

PREVIEW_CODE = "(preview)"


@dataclass(frozen=True)
class Preview:
    """The ranking entry the proposal would get, and how many it would be ranked among."""

    entry: RankedEntry
    contenders: int
    cut_line_rank: int | None


def preview_score(gov: Governance, *, period: str, kind: str, pnl: str | None,
                  proposal: Proposal, replacing: UUID | None = None) -> Preview:
    """Rank the proposal against the period as the event store holds it now (read only).

    `replacing` names an initiative whose revision is being previewed: it is left out.
    Metrics the register does not know score zero with a warning, as in the ranking.
    """
    pool = gov.pool(period)
    _, terms = gov.policy_terms()
    others = [candidate(i, seq) for seq, i in enumerate(gov.initiatives(period), start=1)
              if i.id != replacing]
    mine = candidate_of(id=uuid4(), code=PREVIEW_CODE, proposal=proposal,
                        seq=len(others) + 1, status=Status.SUBMITTED, pnl=pnl, kind=kind)
    candidates: list[Candidate] = [*others, mine]
    metrics: dict[str, MetricTarget] = {}
    for code in {claim.metric for c in candidates for claim in c.impacts}:
        try:
            metric = gov.metric(code)
        except NotFound:  # an unknown metric scores zero with a warning
            continue
        metrics[code] = MetricTarget(code, metric.baseline, metric.target)
    assessment = assess(candidates, metrics, terms, available=pool.available, pool=pool.amount)
    entry = assessment.entry(PREVIEW_CODE)
    if entry is None:  # a submitted candidate is always in contention
        raise RuntimeError("the preview candidate was not ranked")
    return Preview(entry=entry, contenders=len(assessment.entries),
                   cut_line_rank=assessment.cut_line_rank)

